//! The session model is a pure function of a channel's event *set*: any permutation, with any
//! duplicates, gives identical per-session state and the same open session (docs/architecture.md
//! "Session model", "Property").

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use ugc_domain::session::{
    attach, open_session, ChannelSessions, EventKind, IvsEvent, RecordingStatus, SessionSpan,
    SessionSummary, StoredEvent, EVENT_CAP,
};
use ugc_domain::{ChannelArn, StreamId};

const BASE: OffsetDateTime = datetime!(2023-06-14 18:00:00 UTC);

fn arb_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        3 => Just(EventKind::SessionCreated),
        3 => Just(EventKind::StreamStart),
        1 => Just(EventKind::StreamTakeover),
        2 => Just(EventKind::StarvationStart),
        2 => Just(EventKind::StarvationEnd),
        2 => prop_oneof![Just("Ingest Bitrate"), Just("Ingest Resolution")]
            .prop_map(|n| EventKind::LimitBreach(n.to_owned())),
        1 => prop_oneof![
            Just(RecordingStatus::Start),
            Just(RecordingStatus::End),
            Just(RecordingStatus::StartFailure),
        ]
        .prop_map(EventKind::Recording),
        1 => Just(EventKind::StreamFailure),
        3 => Just(EventKind::StreamEnd),
        2 => Just(EventKind::SessionEnded),
    ]
}

/// Events of one channel: up to `sessions` sessions, times within `spread` seconds (so ties of
/// time are common), Limit Breaches sometimes without a stream id. Ids are unique.
fn arb_events(
    sessions: usize,
    spread: i64,
    count: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<IvsEvent>> {
    let arn = ChannelArn::parse("arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh").unwrap();
    prop::collection::vec((0..sessions, any::<bool>(), 0..spread, arb_kind()), count).prop_map(
        move |specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (session, detached, secs, kind))| {
                    let detached = detached && matches!(kind, EventKind::LimitBreach(_));
                    IvsEvent {
                        id: format!("ev-{i}"),
                        time: BASE + Duration::seconds(secs),
                        channel_arn: arn.clone(),
                        stream_id: (!detached)
                            .then(|| StreamId::parse(&format!("st-s{session}")).unwrap()),
                        kind,
                    }
                })
                .collect()
        },
    )
}

/// The event set, and a delivery of it: shuffled, some events delivered more than once.
fn with_delivery(
    events: impl Strategy<Value = Vec<IvsEvent>>,
) -> impl Strategy<Value = (Vec<IvsEvent>, Vec<IvsEvent>)> {
    events
        .prop_flat_map(|events| {
            let n = events.len().max(1);
            (Just(events), prop::collection::vec(0..n, 0..20))
        })
        .prop_flat_map(|(events, dups)| {
            let mut delivery = events.clone();
            delivery.extend(dups.iter().filter_map(|&i| events.get(i).cloned()));
            (Just(events), Just(delivery).prop_shuffle())
        })
}

/// An independent, uncapped statement of the definition, for the derived predicates.
struct Reference {
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    live: bool,
    healthy: bool,
    has_error: bool,
    newest: Vec<String>,
    distinct: usize,
}

fn key(e: &IvsEvent) -> (OffsetDateTime, u8, String) {
    (e.time, e.kind.rank(), e.id.clone())
}

fn reference(events: &[&IvsEvent]) -> Reference {
    let latest = |pred: &dyn Fn(&EventKind) -> bool| {
        events
            .iter()
            .filter(|e| pred(&e.kind))
            .max_by_key(|e| key(e))
            .map(|e| e.kind.clone())
    };
    let end = events
        .iter()
        .filter(|e| e.kind == EventKind::SessionEnded)
        .map(|e| e.time)
        .max();
    let state = latest(&|k| {
        matches!(
            k,
            EventKind::StreamStart
                | EventKind::StreamTakeover
                | EventKind::StreamEnd
                | EventKind::StreamFailure
        )
    });
    let health = latest(&|k| matches!(k, EventKind::StarvationStart | EventKind::StarvationEnd));
    let mut sorted: Vec<&&IvsEvent> = events.iter().collect();
    sorted.sort_by_key(|e| key(e));
    let newest: Vec<String> = sorted
        .iter()
        .rev()
        .take(EVENT_CAP)
        .rev()
        .map(|e| e.id.clone())
        .collect();
    Reference {
        start: events
            .iter()
            .filter(|e| e.kind == EventKind::SessionCreated)
            .map(|e| e.time)
            .min(),
        end,
        live: end.is_none()
            && matches!(
                state,
                Some(EventKind::StreamStart | EventKind::StreamTakeover)
            ),
        healthy: health != Some(EventKind::StarvationStart),
        has_error: events
            .iter()
            .any(|e| matches!(e.kind, EventKind::LimitBreach(_) | EventKind::StreamFailure)),
        newest,
        distinct: events.len(),
    }
}

fn check_against_reference(
    events: &[IvsEvent],
    model: &ChannelSessions,
) -> Result<(), TestCaseError> {
    // Spans and attachment from the uncapped definition.
    let mut by_session: BTreeMap<StreamId, Vec<&IvsEvent>> = BTreeMap::new();
    for e in events {
        if let Some(id) = &e.stream_id {
            by_session.entry(id.clone()).or_default().push(e);
        }
    }
    let spans: Vec<SessionSpan> = by_session
        .iter()
        .map(|(id, evs)| {
            let r = reference(evs);
            SessionSpan {
                stream_id: id.clone(),
                start: r.start,
                end: r.end,
            }
        })
        .collect();
    let mut unattached = BTreeSet::new();
    for e in events.iter().filter(|e| e.stream_id.is_none()) {
        match attach(e.time, &spans) {
            Some(id) => by_session.get_mut(&id).unwrap().push(e),
            None => {
                unattached.insert(e.id.clone());
            }
        }
    }
    prop_assert_eq!(model.open.as_ref(), open_session(&spans));
    prop_assert_eq!(
        model
            .unattached
            .iter()
            .map(|e| e.id.clone())
            .collect::<BTreeSet<_>>(),
        unattached
    );
    prop_assert_eq!(model.sessions.len(), by_session.len());
    for (id, evs) in &by_session {
        let r = reference(evs);
        let s = &model.sessions[id];
        prop_assert_eq!(s.start_time, r.start);
        prop_assert_eq!(s.end_time, r.end);
        prop_assert_eq!(s.is_live(), r.live);
        prop_assert_eq!(s.is_healthy(), r.healthy);
        prop_assert_eq!(s.has_error(), r.has_error);
        prop_assert_eq!(
            s.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
            r.newest
        );
        if r.distinct <= EVENT_CAP {
            prop_assert_eq!(s.dropped_events, 0);
        } else {
            // Estimated from the id sketch (see SessionSummary::dropped_events): hash collisions
            // make it approximate, so the bound is loose; order-independence is checked exactly above.
            let exact = (r.distinct - EVENT_CAP) as i64;
            let diff = (i64::from(s.dropped_events) - exact).abs();
            prop_assert!(
                diff <= 10 + exact / 4,
                "dropped {} vs exact {exact}",
                s.dropped_events
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_delivery_order_gives_the_same_channel_state(
        (events, delivery) in with_delivery(arb_events(4, 40, 0..60))
    ) {
        let canonical = ChannelSessions::from_events(&events);
        let delivered = ChannelSessions::from_events(&delivery);
        prop_assert_eq!(&delivered, &canonical);
        check_against_reference(&events, &canonical)?;
    }

    #[test]
    fn merge_is_commutative_associative_and_idempotent(
        (events, delivery) in with_delivery(arb_events(1, 120, 0..200)),
        cut1 in 0usize..300,
        cut2 in 0usize..300,
    ) {
        let (lo, hi) = (cut1.min(cut2).min(delivery.len()), cut1.max(cut2).min(delivery.len()));
        let whole = SessionSummary::from_events(&events);
        let a = SessionSummary::from_events(&delivery[..lo]);
        let b = SessionSummary::from_events(&delivery[lo..hi]);
        let c = SessionSummary::from_events(&delivery[hi..]);

        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(&ab, &ba);

        let mut ab_c = ab.clone();
        ab_c.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut a_bc = a.clone();
        a_bc.merge(&bc);
        prop_assert_eq!(&ab_c, &a_bc);
        prop_assert_eq!(&ab_c, &whole);

        let mut aa = a.clone();
        aa.merge(&a);
        prop_assert_eq!(&aa, &a);
        prop_assert_eq!(whole.clone().normalized(), whole);
    }

    #[test]
    fn apply_reports_change_exactly_when_state_changes(
        (_events, delivery) in with_delivery(arb_events(1, 30, 0..40))
    ) {
        let mut s = SessionSummary::default();
        let mut seen = BTreeSet::new();
        for e in &delivery {
            let before = s.clone();
            let changed = s.apply(e);
            prop_assert_eq!(changed, s != before);
            if !seen.insert(e.id.clone()) {
                prop_assert!(!changed, "redelivery of {} changed the state", e.id);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn capped_sessions_are_order_independent_too(
        (events, delivery) in with_delivery(arb_events(2, 200, 80..260))
    ) {
        let canonical = ChannelSessions::from_events(&events);
        prop_assert_eq!(&ChannelSessions::from_events(&delivery), &canonical);
        check_against_reference(&events, &canonical)?;
    }
}

#[test]
fn stored_order_matches_the_event_order() {
    let t = BASE;
    let mk = |id: &str, name: &str, ty: &str| StoredEvent {
        id: id.into(),
        time: t,
        name: name.into(),
        event_type: ty.into(),
    };
    let created = mk("z", "Session Created", "IVS Stream State Change");
    let ended = mk("a", "Session Ended", "IVS Stream State Change");
    assert!(created.cmp_order(&ended).is_lt());
}
