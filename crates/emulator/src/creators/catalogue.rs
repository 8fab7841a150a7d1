//! The built-in catalogue the catalog operations answer from: marketplaces (domain, currency,
//! languages, exchange rate), products, and the resources and sort orders a request may name.

/// A marketplace: its domain, currency and the languages it accepts (the first is its default).
pub(super) struct Marketplace {
    pub(super) domain: &'static str,
    pub(super) currency: &'static str,
    /// Multiplier from the catalogue's USD prices.
    pub(super) rate: f64,
    pub(super) languages: &'static [&'static str],
}

pub(super) const MARKETPLACES: &[Marketplace] = &[
    Marketplace {
        domain: "www.amazon.com",
        currency: "USD",
        rate: 1.0,
        languages: &[
            "en_US", "es_US", "de_DE", "ko_KR", "pt_BR", "zh_CN", "zh_TW",
        ],
    },
    Marketplace {
        domain: "www.amazon.ca",
        currency: "CAD",
        rate: 1.37,
        languages: &["en_CA", "fr_CA"],
    },
    Marketplace {
        domain: "www.amazon.co.uk",
        currency: "GBP",
        rate: 0.79,
        languages: &["en_GB"],
    },
    Marketplace {
        domain: "www.amazon.de",
        currency: "EUR",
        rate: 0.92,
        languages: &["de_DE", "cs_CZ", "en_GB", "nl_NL", "pl_PL", "tr_TR"],
    },
    Marketplace {
        domain: "www.amazon.fr",
        currency: "EUR",
        rate: 0.92,
        languages: &["fr_FR", "en_GB"],
    },
    Marketplace {
        domain: "www.amazon.it",
        currency: "EUR",
        rate: 0.92,
        languages: &["it_IT", "en_GB"],
    },
    Marketplace {
        domain: "www.amazon.es",
        currency: "EUR",
        rate: 0.92,
        languages: &["es_ES", "en_GB"],
    },
    Marketplace {
        domain: "www.amazon.co.jp",
        currency: "JPY",
        rate: 150.0,
        languages: &["ja_JP", "en_US", "zh_CN"],
    },
    Marketplace {
        domain: "www.amazon.com.au",
        currency: "AUD",
        rate: 1.52,
        languages: &["en_AU"],
    },
    Marketplace {
        domain: "www.amazon.in",
        currency: "INR",
        rate: 83.0,
        languages: &["en_IN", "hi_IN", "kn_IN", "ml_IN", "ta_IN", "te_IN"],
    },
];

pub(super) fn display_amount(amount: f64, currency: &str) -> String {
    let whole_digits = |n: u64| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    match currency {
        "JPY" => format!("￥{}", whole_digits(amount.round() as u64)),
        "EUR" => {
            let cents = (amount * 100.0).round() as u64;
            format!(
                "{},{:02} €",
                whole_digits(cents / 100).replace(',', "."),
                cents % 100
            )
        }
        _ => {
            let cents = (amount * 100.0).round() as u64;
            let symbol = match currency {
                "GBP" => "£",
                "INR" => "₹",
                _ => "$",
            };
            format!("{symbol}{}.{:02}", whole_digits(cents / 100), cents % 100)
        }
    }
}

/// One catalogue entry.
pub(super) struct Product {
    pub(super) asin: &'static str,
    pub(super) title: &'static str,
    /// USD; `None` when no buy-box offer exists.
    pub(super) price: Option<f64>,
    pub(super) merchant: (&'static str, &'static str),
    pub(super) image: &'static str,
    /// `YYYY-MM-DD`, for `NewestArrivals`.
    pub(super) released: &'static str,
    pub(super) rating: f64,
}

pub(super) const AMAZON: (&str, &str) = ("ATVPDKIKX0DER", "Amazon.com");

/// The built-in catalogue; its order is the `Featured` order.
pub(super) const CATALOGUE: &[Product] = &[
    Product {
        asin: "B0EMU00001",
        title: "Pro USB Condenser Microphone for Streaming and Podcasting",
        price: Some(129.99),
        merchant: AMAZON,
        image: "41mic01emu",
        released: "2025-09-12",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00002",
        title: "1080p HD Webcam with Ring Light and Stereo Microphone",
        price: Some(59.99),
        merchant: AMAZON,
        image: "41cam02emu",
        released: "2025-03-02",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00003",
        title: "4K60 HDR Capture Card for Game Streaming",
        price: Some(179.00),
        merchant: ("A2EMUCAPTURE", "StreamGear Direct"),
        image: "41cap03emu",
        released: "2025-11-20",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00004",
        title: "Mechanical Gaming Keyboard, RGB Backlit, Hot-Swappable Switches",
        price: Some(89.99),
        merchant: AMAZON,
        image: "41kbd04emu",
        released: "2024-10-05",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00005",
        title: "Wireless Gaming Mouse, 26K DPI Optical Sensor, 70-Hour Battery",
        price: Some(69.99),
        merchant: AMAZON,
        image: "41mse05emu",
        released: "2025-01-15",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00006",
        title: "Over-Ear Studio Headphones, Closed Back, Detachable Cable",
        price: Some(149.00),
        merchant: ("A3EMUAUDIO", "Audio Outlet"),
        image: "41hdp06emu",
        released: "2023-06-30",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00007",
        title: "18-Inch LED Ring Light with Tripod Stand and Phone Holder",
        price: Some(45.99),
        merchant: ("A4EMULIGHT", "BrightShop"),
        image: "41rng07emu",
        released: "2024-04-18",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00008",
        title: "Stream Deck Controller with 15 Customizable LCD Keys",
        price: Some(149.99),
        merchant: AMAZON,
        image: "41dck08emu",
        released: "2024-08-01",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00009",
        title: "Boom Arm Microphone Stand with Cable Management",
        price: Some(34.99),
        merchant: ("A2EMUCAPTURE", "StreamGear Direct"),
        image: "41arm09emu",
        released: "2023-12-10",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00010",
        title: "27-Inch 1440p Gaming Monitor, 165Hz, 1ms, HDR400",
        price: Some(279.99),
        merchant: AMAZON,
        image: "41mon10emu",
        released: "2025-05-22",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00011",
        title: "Ergonomic Gaming Chair with Lumbar Support and Footrest",
        price: Some(199.99),
        merchant: ("A5EMUFURN", "Comfort Seating Co."),
        image: "41chr11emu",
        released: "2024-02-14",
        rating: 4.2,
    },
    Product {
        asin: "B0EMU00012",
        title: "Green Screen Backdrop, Collapsible, Wrinkle-Resistant",
        price: Some(119.99),
        merchant: ("A4EMULIGHT", "BrightShop"),
        image: "41grn12emu",
        released: "2023-09-09",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00013",
        title: "Portable SSD 2TB, USB-C, up to 1050MB/s",
        price: Some(139.99),
        merchant: AMAZON,
        image: "41ssd13emu",
        released: "2025-07-07",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00014",
        title: "Wi-Fi 6E Tri-Band Gaming Router",
        price: Some(249.99),
        merchant: AMAZON,
        image: "41rtr14emu",
        released: "2025-02-11",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00015",
        title: "Acoustic Foam Panels, 24 Pack, Sound Dampening Wedges",
        price: Some(27.99),
        merchant: ("A6EMUHOME", "Studio Basics"),
        image: "41fom15emu",
        released: "2022-11-25",
        rating: 4.1,
    },
    Product {
        asin: "B0EMU00016",
        title: "Compact Audio Interface, 2-In/2-Out, 24-bit/192kHz",
        price: Some(119.00),
        merchant: ("A3EMUAUDIO", "Audio Outlet"),
        image: "41aif16emu",
        released: "2024-06-03",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00017",
        title: "Mirrorless Camera Body, 24MP, 4K Video, Clean HDMI Out",
        price: Some(2740.00),
        merchant: ("A7EMUCAMERA", "Camera Corner"),
        image: "41mcb17emu",
        released: "2025-10-01",
        rating: 4.9,
    },
    Product {
        asin: "B0EMU00018",
        title: "Key Light Panel, 2800 Lumens, App-Controlled",
        price: Some(179.99),
        merchant: AMAZON,
        image: "41kl18emu",
        released: "2024-12-02",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00019",
        title: "Wireless Controller for Xbox and PC, Carbon Black",
        price: Some(59.99),
        merchant: AMAZON,
        image: "41ctl19emu",
        released: "2023-03-17",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00020",
        title: "Pro Controller for Nintendo Switch",
        price: Some(69.99),
        merchant: AMAZON,
        image: "41ctl20emu",
        released: "2022-08-20",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00021",
        title: "Streaming for Beginners: Build Your Live Audience (Paperback)",
        price: Some(19.99),
        merchant: AMAZON,
        image: "51bk21emu",
        released: "2025-04-04",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00022",
        title: "The Art of Game Design: A Book of Lenses (Hardcover)",
        price: Some(54.95),
        merchant: AMAZON,
        image: "51bk22emu",
        released: "2019-07-31",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00023",
        title: "Custom T-Shirts - Athletic Grey - 180pcs",
        price: Some(2740.00),
        merchant: ("A8EMUAPPAREL", "Custom Apparel House"),
        image: "41tsh23emu",
        released: "2024-09-15",
        rating: 4.0,
    },
    Product {
        asin: "B0EMU00024",
        title: "Unisex Hoodie, Heavyweight Fleece, Streamer Logo Print",
        price: Some(39.99),
        merchant: ("A8EMUAPPAREL", "Custom Apparel House"),
        image: "41hod24emu",
        released: "2025-08-28",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00025",
        title: "Insulated Water Bottle, 32 oz, Stainless Steel",
        price: Some(24.95),
        merchant: ("A6EMUHOME", "Studio Basics"),
        image: "41btl25emu",
        released: "2023-05-05",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00026",
        title: "Espresso Machine with Milk Frother, 15 Bar",
        price: Some(299.00),
        merchant: AMAZON,
        image: "41esp26emu",
        released: "2024-11-11",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00027",
        title: "Blue Light Glasses for Gaming and Computer Use",
        price: Some(16.99),
        merchant: ("A9EMUOPTIC", "Clear View Optics"),
        image: "41gls27emu",
        released: "2022-02-02",
        rating: 4.0,
    },
    Product {
        asin: "B0EMU00028",
        title: "USB-C Docking Station, Dual HDMI, 100W Power Delivery",
        price: Some(89.00),
        merchant: AMAZON,
        image: "41dok28emu",
        released: "2025-06-16",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00029",
        title: "Smart LED Light Strip, 16 Million Colors, Music Sync",
        price: Some(29.99),
        merchant: ("A4EMULIGHT", "BrightShop"),
        image: "41led29emu",
        released: "2024-01-20",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00030",
        title: "Avengers Collector Edition Action Figure Set",
        price: None,
        merchant: ("AAEMUTOYS", "Hero Toys"),
        image: "41avg30emu",
        released: "2025-12-01",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00031",
        title: "Gaming Headset with Noise-Cancelling Microphone, 7.1 Surround",
        price: Some(79.99),
        merchant: AMAZON,
        image: "41hst31emu",
        released: "2025-02-27",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00032",
        title: "Laptop Stand, Adjustable Aluminum, Ventilated",
        price: Some(32.99),
        merchant: ("A6EMUHOME", "Studio Basics"),
        image: "41lps32emu",
        released: "2023-10-30",
        rating: 4.6,
    },
];

pub(super) const RESOURCES: &[&str] = &[
    "itemInfo.title",
    "images.primary.small",
    "images.primary.medium",
    "images.primary.large",
    "images.primary.hiRes",
    "offersV2.listings.price",
    "offersV2.listings.merchantInfo",
    "offersV2.listings.availability",
    "offersV2.listings.condition",
    "offersV2.listings.isBuyBoxWinner",
];

pub(super) const SORTS: &[&str] = &[
    "AvgCustomerReviews",
    "Featured",
    "NewestArrivals",
    "Price:HighToLow",
    "Price:LowToHigh",
    "Relevance",
];
