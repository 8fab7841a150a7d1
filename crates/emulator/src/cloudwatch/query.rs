//! GetMetricData evaluation: MetricStat queries over stored and synthetic points, and the metric
//! math subset the platform uses (`FILL(m, REPEAT)`, `TIME_SERIES(AVG(m))`, plus arithmetic and
//! `AVG`/`MIN`/`MAX`/`SUM`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value as Json;

use super::wire::CwError;

/// A time series: bucket start (epoch seconds) → value.
pub type Series = BTreeMap<i64, f64>;

/// One parsed `MetricDataQueries` entry.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: String,
    pub label: Option<String>,
    pub return_data: bool,
    pub kind: QueryKind,
}

#[derive(Debug, Clone)]
pub enum QueryKind {
    Stat(MetricStat),
    Expression { text: String, period: Option<i64> },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId {
    pub namespace: String,
    pub name: String,
    /// Sorted by name.
    pub dimensions: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct MetricStat {
    pub metric: MetricId,
    pub period: i64,
    pub stat: Stat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Average,
    Sum,
    Minimum,
    Maximum,
    SampleCount,
}

impl Stat {
    fn parse(s: &str) -> Result<Self, CwError> {
        Ok(match s {
            "Average" | "avg" => Self::Average,
            "Sum" | "sum" => Self::Sum,
            "Minimum" | "min" => Self::Minimum,
            "Maximum" | "max" => Self::Maximum,
            "SampleCount" | "n" => Self::SampleCount,
            other => {
                return Err(CwError::invalid(format!(
                    "The statistic {other} is not supported by the emulator (Average, Sum, Minimum, Maximum, SampleCount)."
                )))
            }
        })
    }
}

/// Aggregate of the samples in one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregate {
    pub sum: f64,
    pub count: f64,
    pub min: f64,
    pub max: f64,
}

impl Aggregate {
    pub fn of(value: f64) -> Self {
        Self {
            sum: value,
            count: 1.0,
            min: value,
            max: value,
        }
    }

    pub fn merge(&mut self, other: &Aggregate) {
        self.sum += other.sum;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn value(&self, stat: Stat) -> f64 {
        match stat {
            Stat::Average => {
                if self.count > 0.0 {
                    self.sum / self.count
                } else {
                    0.0
                }
            }
            Stat::Sum => self.sum,
            Stat::Minimum => self.min,
            Stat::Maximum => self.max,
            Stat::SampleCount => self.count,
        }
    }
}

/// The whole request.
#[derive(Debug, Clone)]
pub struct Request {
    pub queries: Vec<Query>,
    pub start: f64,
    pub end: f64,
    pub ascending: bool,
    pub max_datapoints: Option<usize>,
}

fn str_field<'a>(v: &'a Json, name: &str) -> Result<Option<&'a str>, CwError> {
    match v.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(CwError::invalid(format!(
            "The parameter {name} must be a string."
        ))),
    }
}

fn num_field(v: &Json, name: &str) -> Result<Option<f64>, CwError> {
    match v.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(n) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| CwError::invalid(format!("The parameter {name} must be a number."))),
    }
}

fn period_field(v: &Json) -> Result<Option<i64>, CwError> {
    let Some(p) = num_field(v, "Period")? else {
        return Ok(None);
    };
    let valid = p.fract() == 0.0
        && (matches!(p as i64, 1 | 5 | 10 | 30) || (p >= 60.0 && (p as i64) % 60 == 0));
    if !valid {
        return Err(CwError::invalid(
            "The parameter Period must be 1, 5, 10, 30 or a multiple of 60.",
        ));
    }
    Ok(Some(p as i64))
}

pub fn parse_metric(v: &Json) -> Result<MetricId, CwError> {
    let namespace = str_field(v, "Namespace")?.ok_or_else(|| CwError::missing("Namespace"))?;
    let name = str_field(v, "MetricName")?.ok_or_else(|| CwError::missing("MetricName"))?;
    Ok(MetricId {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        dimensions: parse_dimensions(v)?,
    })
}

pub fn parse_dimensions(v: &Json) -> Result<Vec<(String, String)>, CwError> {
    let mut dims = Vec::new();
    if let Some(list) = v.get("Dimensions").filter(|d| !d.is_null()) {
        let list = list
            .as_array()
            .ok_or_else(|| CwError::invalid("Dimensions must be a list."))?;
        for d in list {
            let name =
                str_field(d, "Name")?.ok_or_else(|| CwError::missing("Dimensions.member.Name"))?;
            let value = str_field(d, "Value")?
                .ok_or_else(|| CwError::missing("Dimensions.member.Value"))?;
            dims.push((name.to_owned(), value.to_owned()));
        }
    }
    dims.sort();
    Ok(dims)
}

impl Request {
    pub fn parse(v: &Json) -> Result<Self, CwError> {
        if !v.is_object() {
            return Err(CwError::new(
                400,
                "SerializationException",
                "The request body must be a structure.",
            ));
        }
        if str_field(v, "NextToken")?.is_some() {
            return Err(CwError::new(
                400,
                "InvalidNextToken",
                "The service cannot process the NextToken: it was not issued by this server.",
            ));
        }
        let list = v
            .get("MetricDataQueries")
            .filter(|q| !q.is_null())
            .ok_or_else(|| CwError::missing("MetricDataQueries"))?
            .as_array()
            .ok_or_else(|| CwError::invalid("MetricDataQueries must be a list."))?;
        if list.is_empty() || list.len() > 500 {
            return Err(CwError::invalid(
                "MetricDataQueries must hold between 1 and 500 queries.",
            ));
        }
        let start = num_field(v, "StartTime")?.ok_or_else(|| CwError::missing("StartTime"))?;
        let end = num_field(v, "EndTime")?.ok_or_else(|| CwError::missing("EndTime"))?;
        if start >= end {
            return Err(CwError::invalid(
                "The parameter StartTime must be less than the parameter EndTime.",
            ));
        }
        let ascending = match str_field(v, "ScanBy")? {
            None | Some("TimestampDescending") => false,
            Some("TimestampAscending") => true,
            Some(other) => return Err(CwError::invalid(format!("Invalid ScanBy value {other}."))),
        };
        let max_datapoints = num_field(v, "MaxDatapoints")?.map(|m| m.max(0.0) as usize);
        let mut ids = HashSet::new();
        let mut queries = Vec::with_capacity(list.len());
        for q in list {
            queries.push(Query::parse(q, &mut ids)?);
        }
        Ok(Self {
            queries,
            start,
            end,
            ascending,
            max_datapoints,
        })
    }
}

impl Query {
    /// One member of `MetricDataQueries`; its id must not be in `ids` yet.
    fn parse(q: &Json, ids: &mut HashSet<String>) -> Result<Self, CwError> {
        let id =
            str_field(q, "Id")?.ok_or_else(|| CwError::missing("MetricDataQueries.member.Id"))?;
        let valid_id = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_id {
            return Err(CwError::invalid(format!(
                "The value {id} for parameter MetricDataQueries.member.Id is not valid: it must start with a lowercase letter and contain only letters, digits and underscores."
            )));
        }
        if !ids.insert(id.to_owned()) {
            return Err(CwError::invalid(format!(
                "The value {id} for parameter MetricDataQueries.member.Id is not unique."
            )));
        }
        let kind = QueryKind::parse(q, id)?;
        let return_data = match q.get("ReturnData") {
            None | Some(Json::Null) => true,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(CwError::invalid("ReturnData must be a boolean.")),
        };
        Ok(Query {
            id: id.to_owned(),
            label: str_field(q, "Label")?.map(str::to_owned),
            return_data,
            kind,
        })
    }
}

impl QueryKind {
    /// Exactly one of `MetricStat` and `Expression` of the query `id`.
    fn parse(q: &Json, id: &str) -> Result<Self, CwError> {
        let stat = q.get("MetricStat").filter(|s| !s.is_null());
        match (stat, str_field(q, "Expression")?) {
            (Some(s), None) => {
                let metric = parse_metric(
                    s.get("Metric")
                        .ok_or_else(|| CwError::missing("MetricStat.Metric"))?,
                )?;
                let period =
                    period_field(s)?.ok_or_else(|| CwError::missing("MetricStat.Period"))?;
                let stat = Stat::parse(
                    str_field(s, "Stat")?.ok_or_else(|| CwError::missing("MetricStat.Stat"))?,
                )?;
                Ok(QueryKind::Stat(MetricStat {
                    metric,
                    period,
                    stat,
                }))
            }
            (None, Some(text)) => Ok(QueryKind::Expression {
                text: text.to_owned(),
                period: period_field(q)?,
            }),
            _ => Err(CwError::new(
                400,
                "InvalidParameterCombination",
                format!("Exactly one of MetricStat and Expression must be set in the query {id}."),
            )),
        }
    }
}

/// Where MetricStat data comes from: stored and synthetic points, bucketed by period.
pub trait Source {
    fn series(&self, stat: &MetricStat, start: f64, end: f64) -> Series;
}

/// One evaluated query.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub id: String,
    pub label: String,
    pub series: Series,
}

/// Evaluates every query (expressions may reference any other query, in any order) and returns
/// the ones with `ReturnData`, in request order.
pub fn evaluate(request: &Request, source: &dyn Source) -> Result<Vec<Evaluated>, CwError> {
    let by_id: HashMap<&str, &Query> = request.queries.iter().map(|q| (q.id.as_str(), q)).collect();
    let mut ctx = Context {
        request,
        by_id,
        source,
        done: HashMap::new(),
        visiting: HashSet::new(),
    };
    let mut results = Vec::new();
    let mut total = 0usize;
    for q in &request.queries {
        let (series, _) = ctx.resolve(&q.id)?;
        if !q.return_data {
            continue;
        }
        total += series.len();
        if total > 100_800 {
            return Err(CwError::invalid("The query would return more than 100,800 datapoints; narrow the time range or raise the period."));
        }
        let label = q.label.clone().unwrap_or_else(|| match &q.kind {
            QueryKind::Stat(s) => s.metric.name.clone(),
            QueryKind::Expression { .. } => q.id.clone(),
        });
        results.push(Evaluated {
            id: q.id.clone(),
            label,
            series,
        });
    }
    Ok(results)
}

struct Context<'a> {
    request: &'a Request,
    by_id: HashMap<&'a str, &'a Query>,
    source: &'a dyn Source,
    /// id → (series, period).
    done: HashMap<String, (Series, i64)>,
    visiting: HashSet<String>,
}

impl Context<'_> {
    fn resolve(&mut self, id: &str) -> Result<(Series, i64), CwError> {
        if let Some(found) = self.done.get(id) {
            return Ok(found.clone());
        }
        let query = *self.by_id.get(id).ok_or_else(|| {
            CwError::invalid(format!(
                "Error in expression: unknown metric or expression id \"{id}\"."
            ))
        })?;
        if !self.visiting.insert(id.to_owned()) {
            return Err(CwError::invalid(format!(
                "Error in expression: circular reference through \"{id}\"."
            )));
        }
        let result = match &query.kind {
            QueryKind::Stat(stat) => (
                self.source
                    .series(stat, self.request.start, self.request.end),
                stat.period,
            ),
            QueryKind::Expression { text, period } => {
                let ast = parse_expression(text)?;
                let mut periods = Vec::new();
                let value = self.eval(&ast, &mut periods)?;
                let period = period
                    .or_else(|| periods.iter().copied().max())
                    .unwrap_or(60);
                let series = match value {
                    Value::Series(s) => s,
                    Value::Scalar(_) => {
                        return Err(CwError::invalid(format!(
                            "Error in expression {}: the expression must return a time series; wrap scalars in TIME_SERIES().",
                            query.id
                        )))
                    }
                };
                (series, period)
            }
        };
        self.visiting.remove(id);
        self.done.insert(id.to_owned(), result.clone());
        Ok(result)
    }

    fn grid(&self, period: i64) -> Vec<i64> {
        let period = period.max(1);
        let first = (self.request.start as i64).div_euclid(period) * period;
        let end = self.request.end;
        (0..)
            .map(|k| first + k * period)
            .take_while(|t| (*t as f64) < end)
            .take(100_800)
            .collect()
    }

    fn eval(&mut self, ast: &Ast, periods: &mut Vec<i64>) -> Result<Value, CwError> {
        Ok(match ast {
            Ast::Number(n) => Value::Scalar(Some(*n)),
            Ast::Ref(id) => {
                let (series, period) = self.resolve(id)?;
                periods.push(period);
                Value::Series(series)
            }
            Ast::Neg(inner) => self.eval(inner, periods)?.map(|v| -v),
            Ast::Binary(op, a, b) => {
                let a = self.eval(a, periods)?;
                let b = self.eval(b, periods)?;
                binary(*op, a, b)
            }
            Ast::Call(name, args) => match (name.as_str(), args.as_slice()) {
                ("FILL", [series, how]) => {
                    let Value::Series(series) = self.eval(series, periods)? else {
                        return Err(CwError::invalid("Error in expression: FILL expects a time series."));
                    };
                    let period = periods.iter().copied().max().unwrap_or(60);
                    let grid = self.grid(period);
                    match how {
                        Ast::Ref(mode) if mode == "REPEAT" => Value::Series(fill_repeat(&series, &grid)),
                        Ast::Ref(mode) if mode == "LINEAR" => Value::Series(fill_linear(&series, &grid)),
                        other => match self.eval(other, periods)? {
                            Value::Scalar(Some(v)) => Value::Series(grid.iter().map(|t| (*t, series.get(t).copied().unwrap_or(v))).collect()),
                            _ => return Err(CwError::invalid("Error in expression: FILL expects REPEAT, LINEAR or a number.")),
                        },
                    }
                }
                ("TIME_SERIES", [arg]) => match self.eval(arg, periods)? {
                    Value::Series(s) => Value::Series(s),
                    Value::Scalar(None) => Value::Series(Series::new()),
                    Value::Scalar(Some(v)) => {
                        let period = periods.iter().copied().max().unwrap_or(60);
                        Value::Series(self.grid(period).into_iter().map(|t| (t, v)).collect())
                    }
                },
                (f @ ("AVG" | "MIN" | "MAX" | "SUM"), [arg]) => {
                    let Value::Series(s) = self.eval(arg, periods)? else {
                        return Err(CwError::invalid(format!("Error in expression: {f} expects a time series.")));
                    };
                    let values: Vec<f64> = s.values().copied().collect();
                    let n = values.len() as f64;
                    Value::Scalar((!values.is_empty()).then(|| match f {
                        "AVG" => values.iter().sum::<f64>() / n,
                        "MIN" => values.iter().copied().fold(f64::INFINITY, f64::min),
                        "MAX" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        _ => values.iter().sum(),
                    }))
                }
                (f, _) => {
                    return Err(CwError::invalid(format!(
                        "Error in expression: the function {f} (with {} arguments) is not supported by the emulator.",
                        args.len()
                    )))
                }
            },
        })
    }
}

#[derive(Debug, Clone)]
enum Value {
    Series(Series),
    /// `None`: the aggregate of an empty series.
    Scalar(Option<f64>),
}

impl Value {
    fn map(self, f: impl Fn(f64) -> f64) -> Value {
        match self {
            Value::Series(s) => Value::Series(s.into_iter().map(|(t, v)| (t, f(v))).collect()),
            Value::Scalar(v) => Value::Scalar(v.map(f)),
        }
    }
}

fn binary(op: char, a: Value, b: Value) -> Value {
    let apply = |x: f64, y: f64| match op {
        '+' => x + y,
        '-' => x - y,
        '*' => x * y,
        _ => x / y,
    };
    let finite = |s: Series| -> Series { s.into_iter().filter(|(_, v)| v.is_finite()).collect() };
    match (a, b) {
        (Value::Scalar(x), Value::Scalar(y)) => Value::Scalar(x.zip(y).map(|(x, y)| apply(x, y))),
        (Value::Series(s), Value::Scalar(y)) => match y {
            Some(y) => Value::Series(finite(
                s.into_iter().map(|(t, v)| (t, apply(v, y))).collect(),
            )),
            None => Value::Series(Series::new()),
        },
        (Value::Scalar(x), Value::Series(s)) => match x {
            Some(x) => Value::Series(finite(
                s.into_iter().map(|(t, v)| (t, apply(x, v))).collect(),
            )),
            None => Value::Series(Series::new()),
        },
        (Value::Series(a), Value::Series(b)) => Value::Series(finite(
            a.into_iter()
                .filter_map(|(t, x)| b.get(&t).map(|y| (t, apply(x, *y))))
                .collect(),
        )),
    }
}

/// Missing grid points take the latest earlier value; leading gaps take the first value.
fn fill_repeat(series: &Series, grid: &[i64]) -> Series {
    let Some(first) = series.values().next().copied() else {
        return Series::new();
    };
    let mut last = first;
    let mut out: Series = grid
        .iter()
        .map(|t| {
            if let Some(v) = series.get(t) {
                last = *v;
            }
            (*t, last)
        })
        .collect();
    out.extend(series.iter().map(|(t, v)| (*t, *v)));
    out
}

/// Missing grid points are interpolated between neighbours; edges repeat the nearest value.
fn fill_linear(series: &Series, grid: &[i64]) -> Series {
    if series.is_empty() {
        return Series::new();
    }
    let mut out: Series = grid
        .iter()
        .map(|t| {
            let before = series.range(..=*t).next_back();
            let after = series.range(*t..).next();
            let v = match (before, after) {
                (Some((t0, v0)), Some((t1, v1))) if t1 > t0 => {
                    v0 + (v1 - v0) * (*t - t0) as f64 / (t1 - t0) as f64
                }
                (Some((_, v)), _) | (None, Some((_, v))) => *v,
                (None, None) => 0.0,
            };
            (*t, v)
        })
        .collect();
    out.extend(series.iter().map(|(t, v)| (*t, *v)));
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Ast {
    Number(f64),
    Ref(String),
    Neg(Box<Ast>),
    Binary(char, Box<Ast>, Box<Ast>),
    Call(String, Vec<Ast>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(f64),
    Sym(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, CwError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut s = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| c.is_ascii_alphanumeric() || **c == '_')
            {
                s.push(c);
                chars.next();
            }
            tokens.push(Token::Ident(s));
        } else if c.is_ascii_digit() || c == '.' {
            let mut s = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit() || **c == '.') {
                s.push(c);
                chars.next();
            }
            let n = s
                .parse()
                .map_err(|_| CwError::invalid(format!("Error in expression: bad number {s}.")))?;
            tokens.push(Token::Number(n));
        } else if "()+-*/,".contains(c) {
            tokens.push(Token::Sym(c));
            chars.next();
        } else {
            return Err(CwError::invalid(format!(
                "Error in expression: unexpected character '{c}'."
            )));
        }
    }
    Ok(tokens)
}

fn parse_expression(text: &str) -> Result<Ast, CwError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
    };
    let ast = parser.expr()?;
    if parser.pos != tokens.len() {
        return Err(CwError::invalid(format!(
            "Error in expression \"{text}\": unexpected trailing input."
        )));
    }
    Ok(ast)
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, c: char) -> Result<(), CwError> {
        match self.next() {
            Some(Token::Sym(s)) if s == c => Ok(()),
            _ => Err(CwError::invalid(format!(
                "Error in expression: expected '{c}'."
            ))),
        }
    }

    fn expr(&mut self) -> Result<Ast, CwError> {
        let mut left = self.term()?;
        while let Some(Token::Sym(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            left = Ast::Binary(op, Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Ast, CwError> {
        let mut left = self.factor()?;
        while let Some(Token::Sym(op @ ('*' | '/'))) = self.peek().cloned() {
            self.pos += 1;
            left = Ast::Binary(op, Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Ast, CwError> {
        match self.next() {
            Some(Token::Number(n)) => Ok(Ast::Number(n)),
            Some(Token::Sym('-')) => Ok(Ast::Neg(Box::new(self.factor()?))),
            Some(Token::Sym('(')) => {
                let inner = self.expr()?;
                self.expect(')')?;
                Ok(inner)
            }
            Some(Token::Ident(name)) => {
                if self.peek() != Some(&Token::Sym('(')) {
                    return Ok(Ast::Ref(name));
                }
                self.pos += 1;
                let mut args = Vec::new();
                if self.peek() != Some(&Token::Sym(')')) {
                    loop {
                        args.push(self.expr()?);
                        match self.next() {
                            Some(Token::Sym(',')) => continue,
                            Some(Token::Sym(')')) => break,
                            _ => {
                                return Err(CwError::invalid(
                                    "Error in expression: expected ',' or ')'.",
                                ))
                            }
                        }
                    }
                } else {
                    self.pos += 1;
                }
                Ok(Ast::Call(name.to_ascii_uppercase(), args))
            }
            _ => Err(CwError::invalid(
                "Error in expression: unexpected end of input.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixed(Series);

    impl Source for Fixed {
        fn series(&self, _: &MetricStat, _: f64, _: f64) -> Series {
            self.0.clone()
        }
    }

    fn request(queries: Json) -> Request {
        Request::parse(&json!({"MetricDataQueries": queries, "StartTime": 0, "EndTime": 30}))
            .unwrap()
    }

    fn stat(id: &str) -> Json {
        json!({"Id": id, "MetricStat": {"Metric": {"Namespace": "AWS/IVS", "MetricName": "IngestFramerate",
            "Dimensions": [{"Name": "Channel", "Value": "abc"}]}, "Period": 5, "Stat": "Average"}})
    }

    #[test]
    fn fill_repeat_and_time_series_avg() {
        let source = Fixed(Series::from([(5, 2.0), (15, 4.0)]));
        let req = request(json!([
            stat("m"),
            {"Id": "filled", "Expression": "FILL(m, REPEAT)"},
            {"Id": "avg", "Expression": "TIME_SERIES(AVG(m))", "Label": "Avg"},
            {"Id": "twice", "Expression": "m * 2 + 1", "ReturnData": false},
        ]));
        let out = evaluate(&req, &source).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].label, "IngestFramerate");
        assert_eq!(
            out[1].series,
            Series::from([
                (0, 2.0),
                (5, 2.0),
                (10, 2.0),
                (15, 4.0),
                (20, 4.0),
                (25, 4.0)
            ])
        );
        assert_eq!(out[2].label, "Avg");
        assert!(out[2].series.values().all(|v| *v == 3.0));
        assert_eq!(out[2].series.len(), 6);
    }

    #[test]
    fn empty_series_stay_empty() {
        let req = request(
            json!([stat("m"), {"Id": "f", "Expression": "FILL(m, REPEAT)"}, {"Id": "a", "Expression": "TIME_SERIES(AVG(m))"}]),
        );
        let out = evaluate(&req, &Fixed(Series::new())).unwrap();
        assert!(out.iter().all(|r| r.series.is_empty()));
    }

    #[test]
    fn bad_requests_are_refused() {
        let base = |q: Json| {
            Request::parse(&json!({"MetricDataQueries": q, "StartTime": 0, "EndTime": 30}))
        };
        assert_eq!(base(json!([])).unwrap_err().code, "InvalidParameterValue");
        assert_eq!(
            base(json!([{"Id": "Upper", "Expression": "1"}]))
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
        assert_eq!(
            base(json!([{"Id": "a"}])).unwrap_err().code,
            "InvalidParameterCombination"
        );
        assert_eq!(
            Request::parse(&json!({"StartTime": 0})).unwrap_err().code,
            "MissingParameter"
        );
        let req = request(json!([{"Id": "a", "Expression": "FILL(b, REPEAT)"}]));
        assert!(evaluate(&req, &Fixed(Series::new())).is_err());
        let req = request(json!([{"Id": "a", "Expression": "b"}, {"Id": "b", "Expression": "a"}]));
        assert!(evaluate(&req, &Fixed(Series::new())).is_err());
        assert!(parse_expression("FILL(m, ").is_err());
    }
}
