//! MLflow's search grammar, parsed without a backend: `filter` strings (`metrics.rmse < 1 and
//! params.lr = '0.01'`), `order_by` clauses (`metrics.rmse ASC`) and page tokens.
//!
//! Supports what `mlflow.utils.search_utils.SearchUtils` accepts for runs: the entity prefixes
//! `metric(s).`, `param(s)./parameter(s).`, `tag(s).`, `attribute(s)./attr./run.` (or none, for
//! attributes), quoted keys (`"…"`, `'…'`, backticks), comparators `= != < <= > >=`, `LIKE`,
//! `ILIKE`, `IN (…)`, `NOT IN (…)`, `IS NULL`, `IS NOT NULL`, joined by `AND` only.

use base64::Engine;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("invalid filter `{filter}`: {reason}")]
    Syntax { filter: String, reason: String },
    #[error("invalid order_by clause `{clause}`: {reason}")]
    OrderBy { clause: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
    Dataset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }
    fn is_numeric(self) -> bool {
        matches!(
            self,
            Comparator::Eq
                | Comparator::Ne
                | Comparator::Lt
                | Comparator::Le
                | Comparator::Gt
                | Comparator::Ge
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Str(String),
    List(Vec<String>),
    None,
}

/// One `AND`-ed comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub entity: Entity,
    /// The key, unquoted; attribute aliases (`created`, `Run name`) are already translated.
    pub key: String,
    pub comparator: Comparator,
    pub value: Value,
}

/// Run attributes that can be searched (MLflow's `RunInfo` searchable attributes).
pub const RUN_STRING_ATTRIBUTES: &[&str] =
    &["run_id", "run_name", "user_id", "status", "artifact_uri"];
pub const RUN_NUMERIC_ATTRIBUTES: &[&str] = &["start_time", "end_time"];

// ---------------------------------------------------------------------------------------------
// tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64, String),
    Op(&'static str),
    Word(String),
    LParen,
    RParen,
    Comma,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let quoted = |i: &mut usize, q: char| -> Result<String, String> {
        let start = *i + 1;
        let mut j = start;
        while j < chars.len() && chars[j] != q {
            j += 1;
        }
        if j >= chars.len() {
            return Err(format!(
                "unterminated {q}…{q} starting at character {}",
                start
            ));
        }
        *i = j + 1;
        Ok(chars[start..j].iter().collect())
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            out.push(Tok::Str(quoted(&mut i, c)?));
        } else if c == '`' {
            // a backticked identifier, possibly followed by `.key`
            let mut id = format!("`{}`", quoted(&mut i, '`')?);
            ident_tail(&chars, &mut i, &mut id, &quoted)?;
            out.push(Tok::Ident(id));
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if "<>=!".contains(c) {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "<=" => Some("<="),
                ">=" => Some(">="),
                "!=" => Some("!="),
                "<>" => Some("!="),
                "==" => Some("="),
                _ => None,
            };
            if let Some(op) = op {
                out.push(Tok::Op(op));
                i += 2;
            } else {
                let op = match c {
                    '<' => "<",
                    '>' => ">",
                    '=' => "=",
                    _ => return Err(format!("unexpected `{c}` at character {i}")),
                };
                out.push(Tok::Op(op));
                i += 1;
            }
        } else if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n: f64 = text
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            out.push(Tok::Num(n, text));
        } else if c.is_alphanumeric() || c == '_' {
            let mut id = String::new();
            while i < chars.len() && (chars[i].is_alphanumeric() || "_-/:".contains(chars[i])) {
                id.push(chars[i]);
                i += 1;
            }
            if i < chars.len() && chars[i] == '.' {
                ident_tail(&chars, &mut i, &mut id, &quoted)?;
                out.push(Tok::Ident(id));
            } else {
                out.push(Tok::Word(id));
            }
        } else {
            return Err(format!("unexpected `{c}` at character {i}"));
        }
    }
    Ok(out)
}

/// Consumes `.key` parts after an entity prefix: plain words and dots, or a quoted key.
fn ident_tail(
    chars: &[char],
    i: &mut usize,
    id: &mut String,
    quoted: &dyn Fn(&mut usize, char) -> Result<String, String>,
) -> Result<(), String> {
    while *i < chars.len() && chars[*i] == '.' {
        id.push('.');
        *i += 1;
        match chars.get(*i) {
            Some(&q) if q == '"' || q == '\'' || q == '`' => {
                let k = quoted(i, q)?;
                id.push(q);
                id.push_str(&k);
                id.push(q);
            }
            _ => {
                while *i < chars.len()
                    && (chars[*i].is_alphanumeric() || "_-/:".contains(chars[*i]))
                {
                    id.push(chars[*i]);
                    *i += 1;
                }
            }
        }
    }
    Ok(())
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\'', '`'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn entity_of(prefix: &str) -> Option<Entity> {
    Some(match unquote(prefix) {
        "metric" | "metrics" => Entity::Metric,
        "param" | "params" | "parameter" | "parameters" => Entity::Param,
        "tag" | "tags" => Entity::Tag,
        "attribute" | "attributes" | "attr" | "run" => Entity::Attribute,
        "dataset" | "datasets" => Entity::Dataset,
        _ => return None,
    })
}

/// Splits `entity.key` at the first dot (outside quotes), like MLflow's `_get_identifier`.
fn split_identifier(raw: &str) -> Result<(Entity, String), String> {
    let (prefix, key) = if let Some(inner) = raw.strip_prefix('`') {
        let end = inner.find('`').map(|e| e + 1).unwrap_or(raw.len() - 1);
        let (p, rest) = raw.split_at(end + 1);
        match rest.strip_prefix('.') {
            Some(k) => (p, Some(k)),
            None => (p, None),
        }
    } else {
        match raw.split_once('.') {
            Some((p, k)) => (p, Some(k)),
            None => (raw, None),
        }
    };
    let Some(key) = key else {
        return Ok((Entity::Attribute, translate_alias(unquote(prefix))));
    };
    let entity = entity_of(prefix).ok_or_else(|| {
        format!(
            "unknown entity type `{}`; use `metrics.`, `params.`, `tags.` or `attributes.`",
            unquote(prefix)
        )
    })?;
    let key = unquote(key).to_string();
    if key.is_empty() {
        return Err(format!("`{raw}` has an empty key"));
    }
    let key = if entity == Entity::Attribute {
        translate_alias(&key)
    } else {
        key
    };
    Ok((entity, key))
}

fn translate_alias(key: &str) -> String {
    match key {
        "created" | "Created" => "start_time".into(),
        "run name" | "Run name" | "Run Name" => "run_name".into(),
        k => k.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// filters

/// Parses a filter into `AND`-ed clauses, checking only the grammar.
pub fn parse_filter(filter: &str) -> Result<Vec<Clause>, FilterError> {
    let err = |reason: String| FilterError::Syntax {
        filter: filter.to_string(),
        reason,
    };
    let toks = lex(filter).map_err(err)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !clauses.is_empty() {
            match &toks[i] {
                Tok::Word(w) if w.eq_ignore_ascii_case("and") => i += 1,
                Tok::Word(w) if w.eq_ignore_ascii_case("or") => {
                    return Err(err(
                        "`OR` is not supported; MLflow filters join clauses with `AND` only".into(),
                    ));
                }
                t => {
                    return Err(err(format!(
                        "expected `AND` between clauses, found {}",
                        show(t)
                    )));
                }
            }
        }
        let (entity, key) = match toks.get(i) {
            Some(Tok::Ident(id)) => split_identifier(id).map_err(err)?,
            Some(Tok::Word(w)) if !is_keyword(w) => (Entity::Attribute, translate_alias(w)),
            Some(Tok::Str(s)) => {
                return Err(err(format!(
                    "expected an identifier such as `metrics.rmse`, found the string '{s}'"
                )));
            }
            Some(t) => {
                return Err(err(format!(
                    "expected an identifier such as `metrics.rmse`, found {}",
                    show(t)
                )));
            }
            None => return Err(err("the filter ends after `AND`".into())),
        };
        i += 1;
        let word =
            |t: Option<&Tok>, w: &str| matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w));
        let (comparator, needs_value) = match toks.get(i) {
            Some(Tok::Op(op)) => (
                match *op {
                    "=" => Comparator::Eq,
                    "!=" => Comparator::Ne,
                    "<" => Comparator::Lt,
                    "<=" => Comparator::Le,
                    ">" => Comparator::Gt,
                    _ => Comparator::Ge,
                },
                true,
            ),
            t if word(t, "like") => (Comparator::Like, true),
            t if word(t, "ilike") => (Comparator::ILike, true),
            t if word(t, "in") => (Comparator::In, true),
            t if word(t, "not") && word(toks.get(i + 1), "in") => {
                i += 1;
                (Comparator::NotIn, true)
            }
            t if word(t, "is") && word(toks.get(i + 1), "null") => {
                i += 1;
                (Comparator::IsNull, false)
            }
            t if word(t, "is") && word(toks.get(i + 1), "not") && word(toks.get(i + 2), "null") => {
                i += 2;
                (Comparator::IsNotNull, false)
            }
            Some(t) => {
                return Err(err(format!(
                    "invalid comparator {}; use one of = != < <= > >= LIKE ILIKE IN, NOT IN, IS NULL, IS NOT NULL",
                    show(t)
                )));
            }
            None => return Err(err(format!("`{key}` has no comparator"))),
        };
        i += 1;
        let value = if !needs_value {
            Value::None
        } else if matches!(comparator, Comparator::In | Comparator::NotIn) {
            if toks.get(i) != Some(&Tok::LParen) {
                return Err(err(format!(
                    "`{}` needs a list such as ('a', 'b')",
                    comparator.as_str()
                )));
            }
            i += 1;
            let mut items = Vec::new();
            loop {
                match toks.get(i) {
                    Some(Tok::Str(s)) => items.push(s.clone()),
                    Some(t) => {
                        return Err(err(format!(
                            "lists hold quoted strings only, found {}",
                            show(t)
                        )));
                    }
                    None => return Err(err("unterminated list".into())),
                }
                i += 1;
                match toks.get(i) {
                    Some(Tok::Comma) => i += 1,
                    Some(Tok::RParen) => break,
                    _ => return Err(err("expected `,` or `)` in the list".into())),
                }
            }
            i += 1;
            Value::List(items)
        } else {
            let v = match toks.get(i) {
                Some(Tok::Str(s)) => Value::Str(s.clone()),
                Some(Tok::Num(n, _)) => Value::Number(*n),
                Some(t) => {
                    return Err(err(format!(
                        "expected a value after `{}`, found {}",
                        comparator.as_str(),
                        show(t)
                    )));
                }
                None => {
                    return Err(err(format!(
                        "expected a value after `{}`",
                        comparator.as_str()
                    )));
                }
            };
            i += 1;
            v
        };
        clauses.push(Clause {
            entity,
            key,
            comparator,
            value,
        });
    }
    Ok(clauses)
}

fn is_keyword(w: &str) -> bool {
    ["and", "or", "like", "ilike", "in", "not", "is", "null"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Word(s) => format!("`{s}`"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(_, s) => format!("`{s}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
    }
}

/// Parses a runs/search filter and applies MLflow's rules for each entity.
pub fn parse_run_filter(filter: &str) -> Result<Vec<Clause>, FilterError> {
    let clauses = parse_filter(filter)?;
    let err = |reason: String| FilterError::Syntax {
        filter: filter.to_string(),
        reason,
    };
    for c in &clauses {
        let cmp = c.comparator;
        match c.entity {
            Entity::Metric => {
                if !cmp.is_numeric() {
                    return Err(err(format!(
                        "metrics support = != < <= > >=, not {}",
                        cmp.as_str()
                    )));
                }
                if !matches!(c.value, Value::Number(_)) {
                    return Err(err(format!(
                        "metric `{}` must be compared with a number",
                        c.key
                    )));
                }
            }
            Entity::Param | Entity::Tag => {
                let ok = matches!(
                    cmp,
                    Comparator::Eq
                        | Comparator::Ne
                        | Comparator::Like
                        | Comparator::ILike
                        | Comparator::IsNull
                        | Comparator::IsNotNull
                );
                if !ok {
                    return Err(err(format!(
                        "params and tags support = != LIKE ILIKE IS NULL IS NOT NULL, not {}",
                        cmp.as_str()
                    )));
                }
                if !matches!(c.value, Value::Str(_) | Value::None) {
                    return Err(err(format!(
                        "`{}` must be compared with a quoted string (e.g. '0.01')",
                        c.key
                    )));
                }
            }
            Entity::Attribute => {
                if RUN_NUMERIC_ATTRIBUTES.contains(&c.key.as_str()) {
                    if !cmp.is_numeric() || !matches!(c.value, Value::Number(_)) {
                        return Err(err(format!(
                            "`{}` is compared with = != < <= > >= and a number (milliseconds)",
                            c.key
                        )));
                    }
                } else if RUN_STRING_ATTRIBUTES.contains(&c.key.as_str()) {
                    match cmp {
                        Comparator::Eq | Comparator::Ne | Comparator::Like | Comparator::ILike => {
                            if !matches!(c.value, Value::Str(_)) {
                                return Err(err(format!(
                                    "attribute `{}` must be compared with a quoted string",
                                    c.key
                                )));
                            }
                        }
                        Comparator::In | Comparator::NotIn if c.key == "run_id" => {}
                        Comparator::In | Comparator::NotIn => {
                            return Err(err("only `run_id` can be compared with a list".into()));
                        }
                        _ => {
                            return Err(err(format!(
                                "attribute `{}` supports = != LIKE ILIKE IN NOT IN, not {}",
                                c.key,
                                cmp.as_str()
                            )));
                        }
                    }
                } else {
                    return Err(err(format!(
                        "unknown attribute `{}`; searchable attributes are run_id, run_name, user_id, status, artifact_uri, start_time, end_time",
                        c.key
                    )));
                }
            }
            Entity::Dataset => {
                return Err(err("dataset filters are not supported by vintner".into()));
            }
        }
    }
    Ok(clauses)
}

/// Parses a registry filter (`name`, `tags.*`, and for model versions `run_id`/`source_path`).
pub fn parse_registry_filter(
    filter: &str,
    attributes: &[&str],
) -> Result<Vec<Clause>, FilterError> {
    let clauses = parse_filter(filter)?;
    let err = |reason: String| FilterError::Syntax {
        filter: filter.to_string(),
        reason,
    };
    for c in &clauses {
        match c.entity {
            Entity::Tag => {
                if !matches!(
                    c.comparator,
                    Comparator::Eq | Comparator::Ne | Comparator::Like | Comparator::ILike
                ) || !matches!(c.value, Value::Str(_))
                {
                    return Err(err(format!(
                        "tag `{}` supports = != LIKE ILIKE with a quoted string",
                        c.key
                    )));
                }
            }
            Entity::Attribute if attributes.contains(&c.key.as_str()) => {
                match (&c.comparator, &c.value) {
                    (
                        Comparator::Eq | Comparator::Ne | Comparator::Like | Comparator::ILike,
                        Value::Str(_),
                    ) => {}
                    (Comparator::In | Comparator::NotIn, Value::List(_)) if c.key == "run_id" => {}
                    _ => {
                        return Err(err(format!(
                            "`{}` supports = != LIKE ILIKE with a quoted string{}",
                            c.key,
                            if c.key == "run_id" {
                                " (or IN with a list)"
                            } else {
                                ""
                            }
                        )));
                    }
                }
            }
            _ => {
                return Err(err(format!(
                    "unsupported key `{}`; use {} or tags.<key>",
                    c.key,
                    attributes.join(", ")
                )));
            }
        }
    }
    Ok(clauses)
}

// ---------------------------------------------------------------------------------------------
// order_by

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub entity: Entity,
    pub key: String,
    pub ascending: bool,
}

/// Parses `metrics.rmse`, `metrics.rmse DESC`, `` `params`.`lr` asc ``, `start_time DESC`.
pub fn parse_order_by(clause: &str) -> Result<OrderBy, FilterError> {
    let err = |reason: String| FilterError::OrderBy {
        clause: clause.to_string(),
        reason,
    };
    let trimmed = clause.trim();
    if trimmed.is_empty() {
        return Err(err("it is empty".into()));
    }
    let (ident, ascending) = match trimmed.rsplit_once(char::is_whitespace) {
        Some((id, dir)) if dir.eq_ignore_ascii_case("asc") => (id.trim(), true),
        Some((id, dir)) if dir.eq_ignore_ascii_case("desc") => (id.trim(), false),
        _ => (trimmed, true),
    };
    let toks = lex(ident).map_err(err)?;
    let (entity, key) = match toks.as_slice() {
        [Tok::Ident(id)] => split_identifier(id).map_err(err)?,
        [Tok::Word(w)] => (Entity::Attribute, translate_alias(w)),
        _ => {
            return Err(err(
                "expected `<entity>.<key> [ASC|DESC]`, e.g. `metrics.rmse DESC`".into(),
            ));
        }
    };
    match entity {
        Entity::Attribute
            if !RUN_STRING_ATTRIBUTES.contains(&key.as_str())
                && !RUN_NUMERIC_ATTRIBUTES.contains(&key.as_str())
                && key != "experiment_id" =>
        {
            Err(err(format!("unknown attribute `{key}`")))
        }
        Entity::Dataset => Err(err("ordering by dataset is not supported".into())),
        _ => Ok(OrderBy {
            entity,
            key,
            ascending,
        }),
    }
}

/// Parses every clause and rejects duplicates, as MLflow does.
pub fn parse_order_by_list(list: &[String]) -> Result<Vec<OrderBy>, FilterError> {
    let mut out: Vec<OrderBy> = Vec::new();
    for c in list {
        let o = parse_order_by(c)?;
        if out.iter().any(|p| p.entity == o.entity && p.key == o.key) {
            return Err(FilterError::OrderBy {
                clause: c.clone(),
                reason: "the same field is ordered twice".into(),
            });
        }
        out.push(o);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// page tokens

/// MLflow's token: base64 of `{"offset": N}`.
pub fn encode_page_token(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// The offset in a token, 0 for none.
pub fn decode_page_token(token: Option<&str>) -> Result<usize, String> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| token.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| token.to_string())?;
    match v.get("offset") {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| token.to_string()),
        Some(serde_json::Value::String(s)) => s.parse().map_err(|_| token.to_string()),
        _ => Err(token.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(f: &str) -> Clause {
        let mut v = parse_run_filter(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(v.len(), 1, "{f}");
        v.remove(0)
    }

    #[test]
    fn parses_the_documented_examples() {
        let c = parse_run_filter("metrics.rmse < 1 and params.lr = '0.01'").unwrap();
        assert_eq!(
            c,
            vec![
                Clause {
                    entity: Entity::Metric,
                    key: "rmse".into(),
                    comparator: Comparator::Lt,
                    value: Value::Number(1.0)
                },
                Clause {
                    entity: Entity::Param,
                    key: "lr".into(),
                    comparator: Comparator::Eq,
                    value: Value::Str("0.01".into())
                },
            ]
        );
        let c = parse_run_filter("attributes.run_name LIKE 'r-%' and tags.mlflow.runName != 'x'")
            .unwrap();
        assert_eq!(c[0].entity, Entity::Attribute);
        assert_eq!(c[0].key, "run_name");
        assert_eq!(c[0].comparator, Comparator::Like);
        assert_eq!(c[1].key, "mlflow.runName");
        assert_eq!(c[1].comparator, Comparator::Ne);
    }

    #[test]
    fn entity_aliases_quotes_and_case() {
        assert_eq!(one("metric.acc >= 0.5").entity, Entity::Metric);
        assert_eq!(one("parameters.alpha = \"1\"").entity, Entity::Param);
        assert_eq!(one("tag.`my key` = 'v'").key, "my key");
        assert_eq!(
            one("metrics.\"val loss\" <= -1.5e-3").value,
            Value::Number(-1.5e-3)
        );
        assert_eq!(one("`metrics`.`r m` > 2").key, "r m");
        assert_eq!(one("params.lr ilike '%E-3'").comparator, Comparator::ILike);
        assert_eq!(one("status = 'FINISHED'").entity, Entity::Attribute);
        assert_eq!(one("attr.created > 0").key, "start_time");
        assert_eq!(one("`Run name` = 'a'").key, "run_name");
        let c = one("attributes.run_id IN ('a', 'b')");
        assert_eq!(c.value, Value::List(vec!["a".into(), "b".into()]));
        assert_eq!(one("run.run_id not in ('a')").comparator, Comparator::NotIn);
        assert_eq!(one("tags.x IS NULL").comparator, Comparator::IsNull);
        assert_eq!(
            one("params.x is not null").comparator,
            Comparator::IsNotNull
        );
        assert_eq!(one("metrics.loss != 3").comparator, Comparator::Ne);
        assert_eq!(parse_run_filter("").unwrap(), vec![]);
        assert_eq!(
            parse_run_filter("metrics.a>1 AND metrics.b<2 aNd metrics.c=3")
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn rejects_what_mlflow_rejects() {
        for bad in [
            "metrics.rmse <<< 1",
            "metrics.rmse < 1 or metrics.mae < 1",
            "metrics.rmse LIKE '1'",
            "metrics.rmse < '1'",
            "params.lr = 0.01",
            "params.lr > '0.01'",
            "attributes.nope = 'x'",
            "attributes.status IN ('A')",
            "attributes.start_time = 'x'",
            "metrics.rmse IS NULL",
            "foo.bar = 'x'",
            "metrics.rmse < 1 metrics.mae < 2",
            "metrics.rmse <",
            "params.a = 'unterminated",
            "metrics.rmse < 1 and",
            "datasets.name = 'x'",
        ] {
            assert!(parse_run_filter(bad).is_err(), "accepted {bad:?}");
        }
        let e = parse_run_filter("a.b = 'x' or c = 'd'")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.b = 'x' or c = 'd'"), "{e}");
    }

    #[test]
    fn order_by_clauses() {
        assert_eq!(
            parse_order_by("metrics.rmse DESC").unwrap(),
            OrderBy {
                entity: Entity::Metric,
                key: "rmse".into(),
                ascending: false
            }
        );
        assert!(parse_order_by("params.lr").unwrap().ascending);
        assert_eq!(
            parse_order_by("attributes.start_time asc").unwrap().key,
            "start_time"
        );
        assert_eq!(
            parse_order_by("start_time").unwrap().entity,
            Entity::Attribute
        );
        assert_eq!(parse_order_by("`metrics`.`a b` desc").unwrap().key, "a b");
        assert_eq!(
            parse_order_by("tags.mlflow.runName").unwrap().key,
            "mlflow.runName"
        );
        assert!(parse_order_by("metrics.rmse sideways").is_err());
        assert!(parse_order_by("attributes.bogus").is_err());
        assert!(parse_order_by_list(&["metrics.a".into(), "metrics.a DESC".into()]).is_err());
    }

    #[test]
    fn page_tokens_match_mlflow() {
        assert_eq!(encode_page_token(2), "eyJvZmZzZXQiOiAyfQ==");
        assert_eq!(decode_page_token(Some("eyJvZmZzZXQiOiAyfQ==")), Ok(2));
        assert_eq!(decode_page_token(None), Ok(0));
        assert!(decode_page_token(Some("garbage!")).is_err());
    }

    #[test]
    fn registry_filters() {
        let c = parse_registry_filter("name = 'wine' and tags.task = 'reg'", &["name"]).unwrap();
        assert_eq!(c.len(), 2);
        assert!(parse_registry_filter("run_id IN ('a','b')", &["name", "run_id"]).is_ok());
        assert!(parse_registry_filter("metrics.x > 1", &["name"]).is_err());
        assert!(parse_registry_filter("run_id = 'x'", &["name"]).is_err());
    }
}
