//! MLflow's search grammar, parsed without a backend: `filter` strings (`metrics.rmse < 1 and
//! params.lr = '0.01'`), `order_by` clauses (`metrics.rmse ASC`) and page tokens.
//!
//! MLflow reads a filter by lexing and grouping it with `sqlparse` and then walking the groups
//! (`mlflow.utils.search_utils`); its quirks are the contract (a dangling `AND` is ignored, two
//! comparisons need no `AND`, `'o''brien'` means the five characters between the outer quotes,
//! `params.my-param` is an arithmetic expression and refused). So this module lexes and groups
//! the same way — only the rules a filter can reach — and applies MLflow's per-entity rules on
//! top; `tests/it/mlflow_parity.rs` checks the result against the real MLflow on a corpus.

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

// ---------------------------------------------------------------------------------------------
// lexing, as `sqlparse` (the SQL lexer MLflow parses every filter with) splits a string

/// A token's type, in `sqlparse`'s terms; only the distinctions MLflow's rules look at are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tt {
    Whitespace,
    Comment,
    /// A plain name: `metrics`, `rmse`, `` `my key` ``, `[x]`.
    Name,
    /// `?`, `:name`, `$1`, `%s`: names that are never grouped as identifiers.
    Placeholder,
    /// A type name such as `timestamp`.
    Builtin,
    /// A double-quoted string (SQL's quoted identifier).
    Symbol,
    /// A single-quoted string.
    Single,
    Integer,
    Float,
    Hex,
    Keyword,
    /// `ASC`, `DESC`, `NULLS FIRST`…
    Order,
    /// `=`, `<`, `LIKE`, `NOT ILIKE`, `==`, `<>`… (any run of `<>=~!`).
    Comparison,
    Operator,
    Wildcard,
    Punctuation,
    /// Anything else: commands, assignments, characters no rule accepts.
    Other,
}

#[derive(Debug, Clone)]
struct Leaf {
    tt: Tt,
    text: String,
}

static RX: std::sync::LazyLock<Rules> = std::sync::LazyLock::new(Rules::new);

struct Rules {
    comment: regex::Regex,
    newline: regex::Regex,
    backtick: regex::Regex,
    acute: regex::Regex,
    printf: regex::Regex,
    sigil: regex::Regex,
    command: regex::Regex,
    special_kw: regex::Regex,
    at_name: regex::Regex,
    word_start: regex::Regex,
    hex: regex::Regex,
    exp_float: regex::Regex,
    single: regex::Regex,
    symbol: regex::Regex,
    symbol_lazy: regex::Regex,
    bracket: regex::Regex,
    not_null: regex::Regex,
    order: regex::Regex,
    nulls: regex::Regex,
    like: regex::Regex,
    regexp: regex::Regex,
    word: regex::Regex,
    punct: regex::Regex,
    json_op: regex::Regex,
    cmp: regex::Regex,
    op: regex::Regex,
}

impl Rules {
    fn new() -> Rules {
        let r = |p: &str| regex::Regex::new(&format!("^(?i:{p})")).expect("valid lexer rule");
        Rules {
            comment: r(r"(--|# ).*?(\r\n|\r|\n|$)"),
            newline: r(r"\r\n|\r|\n"),
            backtick: r(r"`(``|[^`])*`"),
            acute: r(r"´(´´|[^´])*´"),
            printf: r(r"%(\(\w+\))?s"),
            sigil: r(r"[$:?]\w+"),
            command: r(r"\\\w+"),
            special_kw: r(r"(CASE|IN|VALUES|USING|FROM|AS)\b"),
            at_name: r(r"(@|##|#)[A-ZÀ-Ü]\w+"),
            word_start: r(r"[A-ZÀ-Ü]\w*"),
            hex: r(r"-?0x[\dA-F]+"),
            exp_float: r(r"-?\d+(\.\d+)?E-?\d+"),
            single: r(r"'(''|\\'|[^'])*'"),
            symbol: r(r#""(""|\\"|[^"])*""#),
            symbol_lazy: r(r#"(""|".*?[^\\]")"#),
            bracket: r(r"\[[^\]\[]+\]"),
            not_null: r(r"NOT\s+NULL\b"),
            order: r(r"(ASC|DESC)(\s+NULLS\s+(FIRST|LAST))?\b"),
            nulls: r(r"NULLS\s+(FIRST|LAST)\b"),
            like: r(r"(NOT\s+)?(LIKE|ILIKE|RLIKE)\b"),
            regexp: r(r"(NOT\s+)?(REGEXP)(\s+(BINARY))?\b"),
            word: r(r"\w[$#\w]*"),
            punct: r(r"[;:()\[\],\.]"),
            json_op: r(r"(\->>?|#>>?|@>|<@|\?\|?|\?&|\-|#\-)"),
            cmp: r(r"[<>=~!]+"),
            op: r(r"[+/@#%^&|^-]+"),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `(?![_A-ZÀ-Ü])` with sqlparse's case-insensitive letter class.
fn letter_or_underscore(c: Option<char>) -> bool {
    c.is_some_and(|c| {
        c == '_' || {
            let mut b = [0u8; 4];
            RX.word_start.is_match(c.encode_utf8(&mut b))
        }
    })
}

/// sqlparse's two number rules with trailing look-aheads (`1.5`, `.5`, `-3`), including the
/// backtracking a look-ahead failure causes (`12a` lexes as `1`, then the name `2a`).
fn lex_number(rest: &str) -> Option<(Tt, usize)> {
    let b = rest.as_bytes();
    let sign = usize::from(b.first() == Some(&b'-'));
    // ASCII digits only: they are the ones both Python and Rust parse as numbers
    let ascii_digits = |from: usize| {
        rest[from..]
            .bytes()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(rest.len() - from)
    };
    let next_ok = |end: usize| !letter_or_underscore(rest[end..].chars().next());
    let int_len = ascii_digits(sign);
    // Float: `\d+(\.\d*)` or `\.\d+`
    if int_len > 0 && b.get(sign + int_len) == Some(&b'.') {
        let dot = sign + int_len;
        let frac = ascii_digits(dot + 1);
        for f in (0..=frac).rev() {
            let end = dot + 1 + f;
            if next_ok(end) {
                return Some((Tt::Float, end));
            }
        }
    } else if int_len == 0 && b.get(sign) == Some(&b'.') {
        let frac = ascii_digits(sign + 1);
        for f in (1..=frac).rev() {
            let end = sign + 1 + f;
            if next_ok(end) {
                return Some((Tt::Float, end));
            }
        }
    }
    // Integer: `\d+`
    for n in (1..=int_len).rev() {
        if next_ok(sign + n) {
            return Some((Tt::Integer, sign + n));
        }
    }
    None
}

/// Keywords that change how MLflow reads a filter. Every other word lexes as a name, which
/// MLflow refuses in the same places it refuses other SQL keywords.
fn word_type(word: &str) -> Tt {
    match word.to_ascii_uppercase().as_str() {
        "AND" | "OR" | "NOT" | "IS" | "NULL" | "TRUE" | "FALSE" | "BETWEEN" | "SELECT"
        | "WHERE" | "CURRENT_DATE" | "CURRENT_TIME" | "CURRENT_TIMESTAMP" => Tt::Keyword,
        "TIMESTAMP" | "DATE" | "TIME" | "INT" | "INTEGER" | "TEXT" | "CHAR" | "VARCHAR" => {
            Tt::Builtin
        }
        _ => Tt::Name,
    }
}

fn lex(text: &str) -> Vec<Leaf> {
    let rx = &*RX;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let prev = text[..pos].chars().next_back();
        let first = rest.chars().next().unwrap_or(' ');
        let m = |re: &regex::Regex| re.find(rest).map(|m| m.end());
        let (tt, len) = if let Some(n) = m(&rx.comment) {
            (Tt::Comment, n)
        } else if let Some(n) = rest
            .starts_with("/*")
            .then(|| rest[2..].find("*/").map(|e| e + 4))
            .flatten()
        {
            (Tt::Comment, n)
        } else if let Some(n) = m(&rx.newline) {
            (Tt::Whitespace, n)
        } else if first.is_whitespace() {
            (Tt::Whitespace, first.len_utf8())
        } else if rest.starts_with(":=") {
            (Tt::Other, 2)
        } else if rest.starts_with("::") {
            (Tt::Punctuation, 2)
        } else if first == '*' {
            (Tt::Wildcard, 1)
        } else if let Some(n) = m(&rx.backtick).or_else(|| m(&rx.acute)) {
            (Tt::Name, n)
        } else if first == '?' {
            (Tt::Placeholder, 1)
        } else if let Some(n) = m(&rx.printf) {
            (Tt::Placeholder, n)
        } else if let Some(n) = m(&rx.sigil).filter(|_| !prev.is_some_and(is_word_char)) {
            (Tt::Placeholder, n)
        } else if let Some(n) = m(&rx.command) {
            (Tt::Other, n)
        } else if let Some(n) = m(&rx.special_kw) {
            (Tt::Keyword, n)
        } else if let Some(n) = m(&rx.at_name) {
            (Tt::Name, n)
        } else if let Some(n) = m(&rx.word_start).filter(|&n| {
            // `name` before a `.` (not a decimal point), after a `.`, or before `(`
            let after = rest[n..].trim_start();
            let member = after
                .strip_prefix('.')
                .is_some_and(|a| !a.chars().next().is_some_and(|c| c.is_numeric()));
            member || prev == Some('.') || rest[n..].starts_with('(')
        }) {
            (Tt::Name, n)
        } else if let Some(n) = m(&rx.hex) {
            (Tt::Hex, n)
        } else if let Some(n) = m(&rx.exp_float) {
            (Tt::Float, n)
        } else if let Some((tt, n)) = lex_number(rest) {
            (tt, n)
        } else if let Some(n) = m(&rx.single) {
            (Tt::Single, n)
        } else if let Some(n) = m(&rx.symbol).or_else(|| m(&rx.symbol_lazy)) {
            (Tt::Symbol, n)
        } else if let Some(n) = m(&rx.bracket)
            .filter(|_| !prev.is_some_and(|c| is_word_char(c) || c == ']' || c == ')'))
        {
            (Tt::Name, n)
        } else if let Some(n) = m(&rx.not_null) {
            (Tt::Keyword, n)
        } else if let Some(n) = m(&rx.order).or_else(|| m(&rx.nulls)) {
            (Tt::Order, n)
        } else if let Some(n) = m(&rx.like).or_else(|| m(&rx.regexp)) {
            (Tt::Comparison, n)
        } else if let Some(n) = m(&rx.word) {
            (word_type(&rest[..n]), n)
        } else if let Some(n) = m(&rx.punct) {
            (Tt::Punctuation, n)
        } else if let Some(n) = m(&rx.json_op) {
            (Tt::Operator, n)
        } else if let Some(n) = m(&rx.cmp) {
            (Tt::Comparison, n)
        } else if let Some(n) = m(&rx.op) {
            (Tt::Operator, n)
        } else {
            (Tt::Other, first.len_utf8())
        };
        out.push(Leaf {
            tt,
            text: rest[..len].to_string(),
        });
        pos += len;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// grouping, as sqlparse groups tokens before MLflow looks at them

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Parenthesis,
    Function,
    Identifier,
    Operation,
    Comparison,
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(Leaf),
    Group(Group, Vec<Node>),
}

impl Node {
    fn text(&self) -> String {
        match self {
            Node::Leaf(l) => l.text.clone(),
            Node::Group(_, kids) => kids.iter().map(Node::text).collect(),
        }
    }
    fn tt(&self) -> Option<Tt> {
        match self {
            Node::Leaf(l) => Some(l.tt),
            Node::Group(..) => None,
        }
    }
    fn group(&self) -> Option<Group> {
        match self {
            Node::Group(g, _) => Some(*g),
            Node::Leaf(_) => None,
        }
    }
    fn is_ws(&self) -> bool {
        self.tt() == Some(Tt::Whitespace)
    }
    fn is(&self, tt: Tt, upper: &str) -> bool {
        matches!(self, Node::Leaf(l) if l.tt == tt && l.text.to_uppercase() == upper)
    }
    fn is_keyword(&self, upper: &str) -> bool {
        self.is(Tt::Keyword, upper)
    }
    fn is_delimiter(&self) -> bool {
        self.is(Tt::Punctuation, "(") || self.is(Tt::Punctuation, ")")
    }
}

fn next_non_ws(list: &[Node], idx: usize) -> Option<usize> {
    (idx + 1..list.len()).find(|&i| !list[i].is_ws())
}

fn prev_non_ws(list: &[Node], idx: usize) -> Option<usize> {
    (0..idx).rev().find(|&i| !list[i].is_ws())
}

fn group_tokens(list: &mut Vec<Node>, g: Group, from: usize, to: usize, extend: bool) {
    if extend && list[from].group() == Some(g) {
        let tail: Vec<Node> = list.drain(from + 1..=to).collect();
        if let Node::Group(_, kids) = &mut list[from] {
            kids.extend(tail);
        }
    } else {
        let kids: Vec<Node> = list.drain(from..=to).collect();
        list.insert(from, Node::Group(g, kids));
    }
}

/// Groups `(` … `)` pairs; unbalanced ones stay as punctuation.
fn group_parentheses(list: &mut Vec<Node>) {
    let mut opens: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < list.len() {
        if list[i].is(Tt::Punctuation, "(") {
            opens.push(i);
        } else if list[i].is(Tt::Punctuation, ")")
            && let Some(open) = opens.pop()
        {
            let kids: Vec<Node> = list.drain(open..=i).collect();
            list.insert(open, Node::Group(Group::Parenthesis, kids));
            i = open;
        }
        i += 1;
    }
}

/// Applies `f` to every group below `list` that is not of kind `skip`, innermost first.
fn recurse(list: &mut [Node], skip: Option<Group>, f: &dyn Fn(&mut Vec<Node>)) {
    for node in list.iter_mut() {
        if let Node::Group(g, kids) = node
            && Some(*g) != skip
        {
            recurse(kids, skip, f);
            f(kids);
        }
    }
}

/// A name followed by a parenthesis is a function call.
fn group_functions(list: &mut Vec<Node>) {
    let mut i = 0;
    while i < list.len() {
        if matches!(list[i].tt(), Some(Tt::Name | Tt::Placeholder | Tt::Builtin))
            && let Some(n) = next_non_ws(list, i)
            && list[n].group() == Some(Group::Parenthesis)
        {
            group_tokens(list, Group::Function, i, n, false);
        }
        i += 1;
    }
}

/// Every name or double-quoted string not yet inside an identifier becomes one.
fn group_identifiers(list: &mut [Node]) {
    for node in list.iter_mut() {
        if matches!(node.tt(), Some(Tt::Name | Tt::Symbol)) {
            let leaf = std::mem::replace(node, Node::Group(Group::Identifier, Vec::new()));
            *node = Node::Group(Group::Identifier, vec![leaf]);
        }
    }
}

/// `metrics.rmse DESC`: an identifier (or number) followed by an order keyword.
fn group_order(list: &mut Vec<Node>) {
    let mut i = 0;
    while i < list.len() {
        if list[i].tt() == Some(Tt::Order)
            && let Some(p) = prev_non_ws(list, i)
            && (list[p].group() == Some(Group::Identifier)
                || matches!(list[p].tt(), Some(Tt::Integer | Tt::Float | Tt::Hex)))
        {
            group_tokens(list, Group::Identifier, p, i, false);
            i = p;
        }
        i += 1;
    }
}

/// sqlparse's generic "left MIDDLE right" grouping, with its exact bookkeeping: the walk goes
/// over the tokens as they were before grouping, so the token after a new group still counts
/// as the previous token (which is how `a = 1 = 2` nests).
struct Infix {
    group: Group,
    middle: fn(&Node) -> bool,
    valid_prev: fn(&Node) -> bool,
    valid_next: fn(Option<&Node>) -> bool,
    /// For `.`: an invalid right side still groups the left side with the dot.
    keep_invalid_next: bool,
    extend: bool,
}

fn group_infix(list: &mut Vec<Node>, delimited: bool, spec: &Infix) {
    let snapshot = list.clone();
    let mut offset = 0usize;
    let mut consumed_until: Option<usize> = None;
    let mut prev: Option<(usize, Node)> = None;
    for (idx, token) in snapshot.iter().enumerate() {
        if idx < offset {
            continue;
        }
        let tidx = idx - offset;
        if token.is_ws() {
            continue;
        }
        let live = consumed_until.is_none_or(|c| idx > c);
        if live
            && let Node::Group(g, kids) = &mut list[tidx]
            && *g != spec.group
        {
            let inner_delimited = *g == Group::Parenthesis;
            group_infix(kids, inner_delimited, spec);
        }
        if (spec.middle)(token) {
            let nidx = next_non_ws(list, tidx);
            let next = nidx.map(|n| &list[n]);
            let next_valid = (spec.valid_next)(next);
            let next_delim = next.is_some_and(|n| delimited && n.is_delimiter());
            if let Some((pidx, p)) = &prev
                && (spec.valid_prev)(p)
                && (spec.keep_invalid_next || next_valid)
                && !(delimited && p.is_delimiter())
                && !next_delim
            {
                let pidx = *pidx;
                let to = match nidx {
                    Some(n) if next_valid => n,
                    _ => tidx,
                };
                if spec.group == Group::Operation
                    && let Node::Leaf(l) = &mut list[tidx]
                {
                    l.tt = Tt::Operator;
                }
                group_tokens(list, spec.group, pidx, to, spec.extend);
                consumed_until = Some(idx + (to - tidx));
                offset += to - pidx;
                prev = Some((pidx, list[pidx].clone()));
                continue;
            }
        }
        prev = Some((tidx, token.clone()));
    }
}

fn is_operand(n: &Node) -> bool {
    matches!(
        n.group(),
        Some(Group::Parenthesis | Group::Function | Group::Identifier | Group::Operation)
    ) || matches!(
        n.tt(),
        Some(Tt::Integer | Tt::Float | Tt::Single | Tt::Symbol | Tt::Name | Tt::Placeholder)
    )
}

const PERIOD: Infix = Infix {
    group: Group::Identifier,
    middle: |n| n.is(Tt::Punctuation, ".") || n.is(Tt::Operator, "->") || n.is(Tt::Operator, "->>"),
    valid_prev: |n| {
        n.group() == Some(Group::Identifier) || matches!(n.tt(), Some(Tt::Name | Tt::Symbol))
    },
    valid_next: |n| {
        n.is_some_and(|n| {
            n.group() == Some(Group::Function)
                || matches!(
                    n.tt(),
                    Some(Tt::Name | Tt::Symbol | Tt::Wildcard | Tt::Single)
                )
        })
    },
    keep_invalid_next: true,
    extend: true,
};

const TYPECAST: Infix = Infix {
    group: Group::Identifier,
    middle: |n| n.is(Tt::Punctuation, "::"),
    valid_prev: |_| true,
    valid_next: |n| n.is_some(),
    keep_invalid_next: false,
    extend: true,
};

const OPERATION: Infix = Infix {
    group: Group::Operation,
    middle: |n| matches!(n.tt(), Some(Tt::Operator | Tt::Wildcard)),
    valid_prev: |n| {
        is_operand(n)
            || n.is_keyword("CURRENT_DATE")
            || n.is_keyword("CURRENT_TIME")
            || n.is_keyword("CURRENT_TIMESTAMP")
    },
    valid_next: |n| {
        n.is_some_and(|n| {
            is_operand(n)
                || n.is_keyword("CURRENT_DATE")
                || n.is_keyword("CURRENT_TIME")
                || n.is_keyword("CURRENT_TIMESTAMP")
        })
    },
    keep_invalid_next: false,
    extend: false,
};

const COMPARISON: Infix = Infix {
    group: Group::Comparison,
    middle: |n| n.tt() == Some(Tt::Comparison),
    valid_prev: |n| is_operand(n) || n.is_keyword("NULL"),
    valid_next: |n| n.is_some_and(|n| is_operand(n) || n.is_keyword("NULL")),
    keep_invalid_next: false,
    extend: false,
};

/// Lexes and groups one statement; `Err` when the text holds more than one (`a; b`).
fn parse_statement(text: &str) -> Result<Vec<Node>, String> {
    let leaves = lex(text);
    if let Some(semi) = leaves
        .iter()
        .position(|l| l.tt == Tt::Punctuation && l.text == ";")
        && leaves[semi + 1..].iter().any(|l| l.tt != Tt::Whitespace)
    {
        return Err("it holds more than one expression; join clauses with AND".into());
    }
    let mut list: Vec<Node> = leaves.into_iter().map(Node::Leaf).collect();
    group_parentheses(&mut list);
    recurse(&mut list, Some(Group::Function), &group_functions);
    group_functions(&mut list);
    group_infix(&mut list, false, &PERIOD);
    recurse(&mut list, Some(Group::Identifier), &|l| {
        group_identifiers(l)
    });
    group_identifiers(&mut list);
    recurse(&mut list, Some(Group::Identifier), &group_order);
    group_order(&mut list);
    group_infix(&mut list, false, &TYPECAST);
    group_infix(&mut list, false, &OPERATION);
    group_infix(&mut list, false, &COMPARISON);
    Ok(list)
}

/// One comparison as MLflow's parser leaves it: the identifier's text, the comparator's text
/// and the value token (none for `IS NULL`/`IS NOT NULL`).
#[derive(Debug)]
struct RawComparison {
    identifier: String,
    comparator: String,
    value: Option<Node>,
}

/// The statement's comparisons, joined with `AND` or nothing; any other token is refused.
fn comparisons(filter: &str) -> Result<Vec<RawComparison>, String> {
    if filter.is_empty() {
        return Ok(Vec::new());
    }
    if filter.trim().is_empty() {
        return Err("it is blank; leave the filter out to match everything".into());
    }
    let list = parse_statement(filter)?;
    let tokens: Vec<Node> = list.into_iter().filter(|n| !n.is_ws()).collect();
    // `x IN (…)`, `x NOT IN (…)`, `x IS NULL`, `x IS NOT NULL` become comparisons, walking
    // the tokens three or four at a time after an identifier, as MLflow does.
    let mut joined: Vec<Node> = Vec::new();
    let mut i = 0;
    let n = tokens.len();
    while i < n {
        if n - i < 3 {
            joined.extend(tokens[i..].iter().cloned());
            break;
        }
        let first = &tokens[i];
        if first.group() != Some(Group::Identifier) {
            joined.push(first.clone());
            i += 1;
            continue;
        }
        let (second, third) = (&tokens[i + 1], &tokens[i + 2]);
        let kw = |t: &str| {
            Node::Leaf(Leaf {
                tt: Tt::Keyword,
                text: t.into(),
            })
        };
        if second.is_keyword("IN") && third.group() == Some(Group::Parenthesis) {
            joined.push(Node::Group(
                Group::Comparison,
                vec![first.clone(), second.clone(), third.clone()],
            ));
            i += 3;
            continue;
        }
        if second.is_keyword("IS") && third.is_keyword("NULL") {
            joined.push(Node::Group(
                Group::Comparison,
                vec![first.clone(), kw("IS NULL")],
            ));
            i += 3;
            continue;
        }
        if second.is_keyword("IS") && third.is_keyword("NOT NULL") {
            joined.push(Node::Group(
                Group::Comparison,
                vec![first.clone(), kw("IS NOT NULL")],
            ));
            i += 3;
            continue;
        }
        let Some(fourth) = tokens.get(i + 3) else {
            joined.extend([first.clone(), second.clone(), third.clone()]);
            break;
        };
        if second.is_keyword("NOT")
            && third.is_keyword("IN")
            && fourth.group() == Some(Group::Parenthesis)
        {
            joined.push(Node::Group(
                Group::Comparison,
                vec![first.clone(), kw("NOT IN"), fourth.clone()],
            ));
        } else {
            joined.extend([first, second, third, fourth].into_iter().cloned());
        }
        i += 4;
    }
    let invalid: Vec<String> = joined
        .iter()
        .filter(|t| t.group() != Some(Group::Comparison) && !t.is_keyword("AND"))
        .map(|t| format!("`{}`", t.text()))
        .collect();
    if !invalid.is_empty() {
        return Err(format!(
            "{} {} not a comparison; write clauses such as `metrics.rmse < 1` joined by AND",
            invalid.join(", "),
            if invalid.len() == 1 { "is" } else { "are" }
        ));
    }
    let mut out = Vec::new();
    for c in joined {
        let Node::Group(_, kids) = c else { continue };
        let kids: Vec<Node> = kids.into_iter().filter(|k| !k.is_ws()).collect();
        let null_check = kids.len() == 2
            && matches!(
                kids[1].text().to_uppercase().as_str(),
                "IS NULL" | "IS NOT NULL"
            );
        if !null_check && kids.len() != 3 {
            return Err(format!(
                "`{}` is not a comparison of the form `<key> <comparator> <value>`",
                kids.iter().map(Node::text).collect::<String>()
            ));
        }
        if kids[0].group() != Some(Group::Identifier) {
            return Err(format!(
                "expected a key such as `metrics.rmse` or `params.\"my-param\"`, found `{}`",
                kids[0].text()
            ));
        }
        let mut kids = kids.into_iter();
        let identifier = kids.next().map(|k| k.text()).unwrap_or_default();
        let comparator = kids.next().map(|k| k.text()).unwrap_or_default();
        out.push(RawComparison {
            identifier,
            comparator,
            value: kids.next(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// keys and values, as MLflow's `SearchUtils` reads them

fn is_quoted(s: &str, q: char) -> bool {
    s.chars().count() >= 2 && s.starts_with(q) && s.ends_with(q)
}

fn trim_ends(s: &str) -> &str {
    let mut c = s.chars();
    c.next();
    c.next_back();
    c.as_str()
}

fn trim_backticks(s: &str) -> &str {
    if is_quoted(s, '`') { trim_ends(s) } else { s }
}

fn strip_quotes(s: &str) -> &str {
    if is_quoted(s, '\'') || is_quoted(s, '"') {
        trim_ends(s)
    } else {
        s
    }
}

/// A quoted string value (`'a'` or `"a"`), exactly as written between the quotes: MLflow does
/// not unescape `''` or `\'`.
fn quoted_value(token: &Node, what: &str) -> Result<String, String> {
    let text = token.text();
    let stringy = token.tt() == Some(Tt::Single) || token.group() == Some(Group::Identifier);
    if stringy && (is_quoted(&text, '\'') || is_quoted(&text, '"')) {
        return Ok(trim_ends(&text).to_string());
    }
    Err(format!(
        "{what} must be compared with a quoted string (e.g. 'my-value'), found `{text}`"
    ))
}

fn number_value(token: &Node, what: &str) -> Result<f64, String> {
    let text = token.text();
    match token.tt() {
        Some(Tt::Integer | Tt::Float) => text
            .parse::<f64>()
            .map_err(|_| format!("`{text}` is not a number")),
        _ => Err(format!(
            "{what} must be compared with a number, found `{text}`"
        )),
    }
}

/// `('a', "b")`: the parenthesis read as a Python tuple literal of strings, as MLflow's
/// `ast.literal_eval` reads it (one string without a comma counts as a one-item list).
fn list_value(token: &Node) -> Result<Vec<String>, String> {
    let text = token.text();
    let bad = || {
        format!(
            "`{text}` is not a list of quoted strings; write e.g. ('a', 'b') (an empty list matches nothing and is refused)"
        )
    };
    let mut p = PyLiteral {
        chars: text.chars().collect(),
        i: 0,
    };
    let value = p.expression().ok_or_else(bad)?;
    p.skip_ws();
    if p.i != p.chars.len() {
        return Err(bad());
    }
    let items = match value {
        PyValue::Tuple(items) => items,
        s @ PyValue::Str(_) => vec![s],
    };
    if items.is_empty() {
        return Err(bad());
    }
    items
        .into_iter()
        .map(|v| match v {
            PyValue::Str(s) => Ok(s),
            PyValue::Tuple(_) => Err(bad()),
        })
        .collect()
}

enum PyValue {
    Str(String),
    Tuple(Vec<PyValue>),
}

/// Just enough of Python's literal syntax for a tuple of strings: string literals (with `r`/`u`
/// prefixes, escapes, implicit concatenation), parentheses and commas.
struct PyLiteral {
    chars: Vec<char>,
    i: usize,
}

impl PyLiteral {
    fn skip_ws(&mut self) {
        while self.chars.get(self.i).is_some_and(|c| {
            c.is_whitespace() || *c == '\\' && self.chars.get(self.i + 1) == Some(&'\n')
        }) {
            self.i += if self.chars[self.i] == '\\' { 2 } else { 1 };
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn expression(&mut self) -> Option<PyValue> {
        self.skip_ws();
        if self.peek() == Some('(') {
            self.i += 1;
            let mut items = Vec::new();
            let mut comma = false;
            loop {
                self.skip_ws();
                if self.peek() == Some(')') {
                    self.i += 1;
                    break;
                }
                items.push(self.expression()?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => {
                        comma = true;
                        self.i += 1;
                    }
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
            return if items.len() == 1 && !comma {
                items.pop()
            } else {
                Some(PyValue::Tuple(items))
            };
        }
        let mut s = self.string()?;
        loop {
            let save = self.i;
            self.skip_ws();
            match self.string() {
                Some(more) => s.push_str(&more),
                None => {
                    self.i = save;
                    break;
                }
            }
        }
        Some(PyValue::Str(s))
    }

    fn string(&mut self) -> Option<String> {
        let start = self.i;
        let mut raw = false;
        while let Some(c) = self.peek() {
            match c.to_ascii_lowercase() {
                'r' if !raw => raw = true,
                'u' if self.i == start => {}
                _ => break,
            }
            self.i += 1;
        }
        if self.i - start > 2 || (self.i - start == 2 && !raw) {
            self.i = start;
            return None;
        }
        let q = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => {
                self.i = start;
                return None;
            }
        };
        let triple =
            self.chars.get(self.i + 1) == Some(&q) && self.chars.get(self.i + 2) == Some(&q);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == q {
                if !triple {
                    self.i += 1;
                    return Some(out);
                }
                if self.chars.get(self.i + 1) == Some(&q) && self.chars.get(self.i + 2) == Some(&q)
                {
                    self.i += 3;
                    return Some(out);
                }
            }
            if c == '\n' && !triple {
                return None;
            }
            self.i += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.peek()?;
            if raw {
                out.push('\\');
                out.push(e);
                self.i += 1;
                continue;
            }
            self.i += 1;
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(e),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '0'..='7' => {
                    let mut n = e.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                n = n * 8 + d;
                                self.i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(n)?);
                }
                'x' | 'u' | 'U' => {
                    let len = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = self.chars.get(self.i..self.i + len)?.iter().collect();
                    if !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                        return None;
                    }
                    self.i += len;
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                'N' => return None,
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

/// Splits `entity.key` at the first dot, as MLflow's `_get_identifier`.
fn split_key(identifier: &str) -> (Option<&str>, &str) {
    match identifier.split_once('.') {
        Some((entity, key)) => (Some(entity), key),
        None => (None, identifier),
    }
}

fn run_entity(prefix: &str) -> Result<Entity, String> {
    Ok(match trim_backticks(prefix) {
        "metric" | "metrics" => Entity::Metric,
        "parameter" | "parameters" | "param" | "params" => Entity::Param,
        "tag" | "tags" => Entity::Tag,
        "attribute" | "attributes" | "attr" | "run" => Entity::Attribute,
        "dataset" | "datasets" => Entity::Dataset,
        other => {
            return Err(format!(
                "unknown entity type `{other}`; use `metrics.`, `params.`, `tags.`, `attributes.` or `datasets.`"
            ));
        }
    })
}

/// Run attributes a filter can name, with MLflow's aliases.
const RUN_FILTER_ATTRIBUTES: &[&str] = &[
    "run_id",
    "run_name",
    "user_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
    "created",
    "Created",
    "run name",
    "Run name",
    "Run Name",
];
/// Run attributes an order_by clause can name.
const RUN_ORDER_ATTRIBUTES: &[&str] = &[
    "run_id",
    "run_name",
    "user_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
    "created",
    "Created",
];
const NUMERIC_ALIASES: &[&str] = &["start_time", "end_time", "created", "Created"];
const DATASET_KEYS: &[&str] = &["name", "digest", "context"];

/// `(entity, key)` of a run filter or order_by identifier.
fn run_identifier(identifier: &str, attributes: &[&str]) -> Result<(Entity, String), String> {
    let (prefix, key) = split_key(identifier);
    let entity = match prefix {
        Some(p) => run_entity(p)?,
        None => Entity::Attribute,
    };
    let key = trim_backticks(strip_quotes(key)).to_string();
    match entity {
        Entity::Attribute if !attributes.contains(&key.as_str()) => Err(format!(
            "unknown attribute `{key}`; searchable attributes are {}",
            attributes.join(", ")
        )),
        Entity::Dataset if !DATASET_KEYS.contains(&key.as_str()) => Err(format!(
            "unknown dataset key `{key}`; use datasets.name, datasets.digest or datasets.context"
        )),
        _ => Ok((entity, key)),
    }
}

fn comparator_of(text: &str) -> Option<Comparator> {
    Some(match text.to_uppercase().as_str() {
        "=" => Comparator::Eq,
        "!=" => Comparator::Ne,
        "<" => Comparator::Lt,
        "<=" => Comparator::Le,
        ">" => Comparator::Gt,
        ">=" => Comparator::Ge,
        "LIKE" => Comparator::Like,
        "ILIKE" => Comparator::ILike,
        "IN" => Comparator::In,
        "NOT IN" => Comparator::NotIn,
        "IS NULL" => Comparator::IsNull,
        "IS NOT NULL" => Comparator::IsNotNull,
        _ => return None,
    })
}

fn allowed(text: &str, set: &[Comparator], what: &str) -> Result<Comparator, String> {
    match comparator_of(text) {
        Some(c) if set.contains(&c) => Ok(c),
        _ => Err(format!(
            "`{text}` is not a comparator for {what}; use one of {}",
            set.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" ")
        )),
    }
}

const NUMERIC_COMPARATORS: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Lt,
    Comparator::Le,
    Comparator::Gt,
    Comparator::Ge,
];
const STRING_COMPARATORS: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
    Comparator::NotIn,
];
const KEY_VALUE_COMPARATORS: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::IsNull,
    Comparator::IsNotNull,
];

// ---------------------------------------------------------------------------------------------
// filters

/// Parses a runs/search filter exactly as MLflow's SQL store does (`SearchUtils` over
/// `sqlparse`): what MLflow accepts is accepted with the same meaning, what it refuses is
/// refused. Clauses join with `AND` (or nothing); a dangling `AND` is ignored, as in MLflow.
pub fn parse_run_filter(filter: &str) -> Result<Vec<Clause>, FilterError> {
    let err = |reason: String| FilterError::Syntax {
        filter: filter.to_string(),
        reason,
    };
    let mut out = Vec::new();
    for raw in comparisons(filter).map_err(err)? {
        out.push(run_clause(raw).map_err(err)?);
    }
    Ok(out)
}

fn run_clause(raw: RawComparison) -> Result<Clause, String> {
    let (entity, key) = run_identifier(&raw.identifier, RUN_FILTER_ATTRIBUTES)?;
    let Some(token) = raw.value else {
        if !matches!(entity, Entity::Param | Entity::Tag) {
            return Err(format!(
                "IS NULL / IS NOT NULL apply to params and tags only, not to `{key}`"
            ));
        }
        return Ok(Clause {
            entity,
            key: translate_alias(&key),
            comparator: comparator_of(&raw.comparator).unwrap_or(Comparator::IsNull),
            value: Value::None,
        });
    };
    let numeric_attribute = entity == Entity::Attribute && NUMERIC_ALIASES.contains(&key.as_str());
    let value = match entity {
        Entity::Metric => Value::Number(number_value(&token, &format!("metric `{key}`"))?),
        Entity::Param | Entity::Tag => Value::Str(quoted_value(&token, &format!("`{key}`"))?),
        Entity::Attribute if numeric_attribute => {
            Value::Number(number_value(&token, &format!("attribute `{key}`"))?)
        }
        Entity::Attribute | Entity::Dataset => {
            if token.group() == Some(Group::Parenthesis) {
                if entity == Entity::Attribute && key != "run_id" {
                    return Err("only `run_id` can be compared with a list".into());
                }
                Value::List(list_value(&token)?)
            } else {
                Value::Str(quoted_value(&token, &format!("`{key}`"))?)
            }
        }
    };
    // MLflow translates the aliases of every key, whatever its entity.
    let key = translate_alias(&key);
    let comparator = match entity {
        Entity::Metric => allowed(&raw.comparator, NUMERIC_COMPARATORS, "metrics")?,
        Entity::Param | Entity::Tag => {
            allowed(&raw.comparator, KEY_VALUE_COMPARATORS, "params and tags")?
        }
        Entity::Attribute if NUMERIC_ALIASES.contains(&key.as_str()) => {
            allowed(&raw.comparator, NUMERIC_COMPARATORS, "a time attribute")?
        }
        _ => allowed(&raw.comparator, STRING_COMPARATORS, "string attributes")?,
    };
    let is_list = matches!(value, Value::List(_));
    if is_list != matches!(comparator, Comparator::In | Comparator::NotIn) {
        return Err(format!(
            "`{}` needs {}",
            comparator.as_str(),
            if is_list {
                "a single value, not a list"
            } else {
                "a list such as ('a', 'b')"
            }
        ));
    }
    Ok(Clause {
        entity,
        key,
        comparator,
        value,
    })
}

fn translate_alias(key: &str) -> String {
    match key {
        "created" | "Created" => "start_time".into(),
        "run name" | "Run name" | "Run Name" => "run_name".into(),
        k => k.into(),
    }
}

/// What a registry or experiment search accepts: its attributes, which take a list, and
/// whether tags accept `IS NULL`.
#[derive(Debug, Clone, Copy)]
pub struct EntityGrammar {
    pub attributes: &'static [&'static str],
    pub list_attributes: &'static [&'static str],
    pub tag_null_checks: bool,
    /// Experiments unquote an attribute key before checking it; the registry checks it as
    /// written (so `"name" = 'a'` is refused there).
    pub unquote_attribute_keys: bool,
}

/// `search_experiments`: `name` and `tags.*` (tags also take `IS NULL`).
pub const EXPERIMENTS: EntityGrammar = EntityGrammar {
    attributes: &["name"],
    list_attributes: &[],
    tag_null_checks: true,
    unquote_attribute_keys: true,
};
/// `search_registered_models`: `name` (also `IN (…)`) and `tags.*`.
pub const REGISTERED_MODELS: EntityGrammar = EntityGrammar {
    attributes: &["name"],
    list_attributes: &["name"],
    tag_null_checks: false,
    unquote_attribute_keys: false,
};
/// `search_model_versions`: `name`, `run_id` (both also `IN (…)`), `source_path`, `tags.*`.
pub const MODEL_VERSIONS: EntityGrammar = EntityGrammar {
    attributes: &["name", "run_id", "source_path"],
    list_attributes: &["name", "run_id"],
    tag_null_checks: false,
    unquote_attribute_keys: false,
};

/// Parses a registry or experiment filter with MLflow's grammar for that search.
pub fn parse_registry_filter(
    filter: &str,
    grammar: &EntityGrammar,
) -> Result<Vec<Clause>, FilterError> {
    let err = |reason: String| FilterError::Syntax {
        filter: filter.to_string(),
        reason,
    };
    let mut out = Vec::new();
    for raw in comparisons(filter).map_err(err)? {
        out.push(registry_clause(raw, grammar).map_err(err)?);
    }
    Ok(out)
}

fn registry_clause(raw: RawComparison, grammar: &EntityGrammar) -> Result<Clause, String> {
    let (prefix, key) = split_key(&raw.identifier);
    let entity = match prefix {
        None | Some("attribute") => Entity::Attribute,
        Some("tag" | "tags") => Entity::Tag,
        Some(other) => {
            return Err(format!(
                "unknown entity type `{other}`; use `tags.` or an attribute ({})",
                grammar.attributes.join(", ")
            ));
        }
    };
    let checked = if grammar.unquote_attribute_keys {
        trim_backticks(strip_quotes(key))
    } else {
        key
    };
    let key = trim_backticks(strip_quotes(key)).to_string();
    if entity == Entity::Attribute && !grammar.attributes.contains(&checked) {
        return Err(format!(
            "unknown attribute `{key}`; use {} or tags.<key>",
            grammar.attributes.join(", ")
        ));
    }
    let Some(token) = raw.value else {
        if entity != Entity::Tag || !grammar.tag_null_checks {
            return Err(format!(
                "IS NULL / IS NOT NULL is not supported for `{key}` here"
            ));
        }
        return Ok(Clause {
            entity,
            key,
            comparator: comparator_of(&raw.comparator).unwrap_or(Comparator::IsNull),
            value: Value::None,
        });
    };
    let value = if entity == Entity::Attribute && token.group() == Some(Group::Parenthesis) {
        if !grammar.list_attributes.contains(&key.as_str()) {
            return Err(format!(
                "only {} can be compared with a list",
                if grammar.list_attributes.is_empty() {
                    "no attribute".to_string()
                } else {
                    grammar.list_attributes.join(", ")
                }
            ));
        }
        Value::List(list_value(&token)?)
    } else {
        Value::Str(quoted_value(&token, &format!("`{key}`"))?)
    };
    let comparator = if entity == Entity::Tag {
        let set: &[Comparator] = if grammar.tag_null_checks {
            KEY_VALUE_COMPARATORS
        } else {
            &KEY_VALUE_COMPARATORS[..4]
        };
        allowed(&raw.comparator, set, "tags")?
    } else {
        allowed(&raw.comparator, STRING_COMPARATORS, "attributes")?
    };
    let is_list = matches!(value, Value::List(_));
    if is_list != matches!(comparator, Comparator::In | Comparator::NotIn) {
        return Err(format!(
            "`{}` cannot be used with {}",
            comparator.as_str(),
            if is_list { "a list" } else { "a single value" }
        ));
    }
    Ok(Clause {
        entity,
        key,
        comparator,
        value,
    })
}

/// Splits a filter into comparisons with MLflow's tokenizer and reads each value (a quoted
/// string, a number or a list), without any search's rules for keys and comparators: for the
/// searches whose callers check those themselves (experiments, model versions).
pub fn parse_filter(filter: &str) -> Result<Vec<Clause>, FilterError> {
    let err = |reason: String| FilterError::Syntax {
        filter: filter.to_string(),
        reason,
    };
    let mut out = Vec::new();
    for raw in comparisons(filter).map_err(err)? {
        let (prefix, key) = split_key(&raw.identifier);
        let entity = match prefix {
            None | Some("attribute" | "attributes" | "attr" | "run") => Entity::Attribute,
            Some("tag" | "tags") => Entity::Tag,
            Some("metric" | "metrics") => Entity::Metric,
            Some("param" | "params" | "parameter" | "parameters") => Entity::Param,
            Some("dataset" | "datasets") => Entity::Dataset,
            Some(other) => return Err(err(format!("unknown entity type `{other}`"))),
        };
        let key = trim_backticks(strip_quotes(key)).to_string();
        let comparator = comparator_of(&raw.comparator)
            .ok_or_else(|| err(format!("unknown comparator `{}`", raw.comparator)))?;
        let value = match raw.value {
            None => Value::None,
            Some(token) if token.group() == Some(Group::Parenthesis) => {
                Value::List(list_value(&token).map_err(err)?)
            }
            Some(token) => match quoted_value(&token, &format!("`{key}`")) {
                Ok(v) => Value::Str(v),
                Err(_) => Value::Number(number_value(&token, &format!("`{key}`")).map_err(err)?),
            },
        };
        out.push(Clause {
            entity,
            key,
            comparator,
            value,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// order_by

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub entity: Entity,
    pub key: String,
    pub ascending: bool,
}

/// Parses `metrics.rmse`, `metrics.rmse DESC`, `` `params`.`lr` asc ``, `start_time DESC` as
/// MLflow's `parse_order_by_for_search_runs` does.
pub fn parse_order_by(clause: &str) -> Result<OrderBy, FilterError> {
    let err = |reason: String| FilterError::OrderBy {
        clause: clause.to_string(),
        reason,
    };
    let shape = || err("expected `<entity>.<key> [ASC|DESC]`, e.g. `metrics.rmse DESC`".into());
    let mut list = parse_statement(clause).map_err(|_| shape())?;
    group_aliases(&mut list);
    let [Node::Group(Group::Identifier, _)] = list.as_slice() else {
        return Err(shape());
    };
    let words = shell_words(&list[0].text().replace('`', "\"")).ok_or_else(shape)?;
    let (ident, ascending) = match words.as_slice() {
        [id] => (id, true),
        [id, dir] if dir.eq_ignore_ascii_case("asc") => (id, true),
        [id, dir] if dir.eq_ignore_ascii_case("desc") => (id, false),
        _ => return Err(shape()),
    };
    let (entity, key) = run_identifier(ident.trim(), RUN_ORDER_ATTRIBUTES).map_err(err)?;
    if entity == Entity::Dataset {
        return Err(err("runs cannot be ordered by a dataset".into()));
    }
    Ok(OrderBy {
        entity,
        key: translate_alias(&key),
        ascending,
    })
}

/// sqlparse's aliasing (`x y` is `x` named `y`), which MLflow's order_by reads as one clause.
fn group_aliases(list: &mut Vec<Node>) {
    let mut i = 0;
    while i < list.len() {
        let aliasable = matches!(
            list[i].group(),
            Some(
                Group::Parenthesis
                    | Group::Function
                    | Group::Identifier
                    | Group::Operation
                    | Group::Comparison
            )
        ) || matches!(list[i].tt(), Some(Tt::Integer | Tt::Float | Tt::Hex));
        if aliasable
            && let Some(n) = next_non_ws(list, i)
            && list[n].group() == Some(Group::Identifier)
        {
            group_tokens(list, Group::Identifier, i, n, true);
        }
        i += 1;
    }
}

/// POSIX shell word splitting (Python's `shlex.split`); `None` for an unclosed quote.
fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            e @ ('\\' | '"') => w.push(e),
                            e => {
                                w.push('\\');
                                w.push(e);
                            }
                        },
                        c => w.push(c),
                    }
                }
            }
            '\\' => {
                let w = cur.get_or_insert_with(String::new);
                match chars.next() {
                    Some('\n') => {}
                    Some(e) => w.push(e),
                    None => return None,
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = cur {
        words.push(w);
    }
    Some(words)
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
    // As MLflow: an offset of 0 is no continuation, so a token never points at the first page.
    let offset = match v.get("offset") {
        Some(serde_json::Value::Number(n)) => n.as_u64().map(|n| n as usize),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    offset.filter(|&o| o > 0).ok_or_else(|| token.to_string())
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
            "metrics.rmse <",
            "params.a = 'unterminated",
            "metrics.x == 1",
            "metrics.x <> 1",
            "metrics.x < +1",
            "params.my-param = 'a'",
            "params.a NOT LIKE 'x'",
            "run_id IN ()",
            "run_id = ('a')",
            "(metrics.a < 1)",
            "metrics.a < 1; metrics.b < 2",
            "metrics.a = 1 = 2",
            "datasets.name IS NULL",
            "datasets.size = 'x'",
            "   ",
        ] {
            assert!(parse_run_filter(bad).is_err(), "accepted {bad:?}");
        }
        let e = parse_run_filter("a.b = 'x' or c = 'd'")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.b = 'x' or c = 'd'"), "{e}");
    }

    #[test]
    fn accepts_what_mlflow_accepts() {
        // a dangling or doubled AND, and no AND at all
        for (f, n) in [
            ("params.model = 'mlp' and", 1),
            ("and metrics.rmse < 1", 1),
            ("metrics.a < 1 and and metrics.b < 2", 2),
            ("metrics.rmse < 1 metrics.mae < 2", 2),
            ("metrics.a<1 AND metrics.b>=-2.5e3", 2),
        ] {
            assert_eq!(parse_run_filter(f).unwrap().len(), n, "{f}");
        }
        // quotes inside strings are kept exactly as written
        assert_eq!(
            one("tags.t = 'o''brien'").value,
            Value::Str("o''brien".into())
        );
        assert_eq!(
            one(r"tags.t = 'o\'brien'").value,
            Value::Str(r"o\'brien".into())
        );
        assert_eq!(
            one(r#"tags.t = "o'brien \"q\"""#).value,
            Value::Str(r#"o'brien \"q\""#.into())
        );
        assert_eq!(one("tags.`` = 'x'").key, "");
        assert_eq!(one("run_id IN ('a',)").value, Value::List(vec!["a".into()]));
        assert_eq!(
            one(r#"run_id IN ('a' "b", 'c\x41')"#).value,
            Value::List(vec!["ab".into(), "cA".into()])
        );
        let d = one("datasets.name = 'x'");
        assert_eq!((d.entity, d.key.as_str()), (Entity::Dataset, "name"));
        assert_eq!(one("params.created = 'x'").key, "start_time");
        assert_eq!(one("metrics.a = 1.").value, Value::Number(1.0));
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
        assert!(parse_order_by("experiment_id").is_err());
        assert!(parse_order_by(" metrics.rmse").is_err());
        assert_eq!(
            parse_order_by("attr.created DESC").unwrap().key,
            "start_time"
        );
        assert!(parse_order_by("attributes.bogus").is_err());
        assert!(parse_order_by_list(&["metrics.a".into(), "metrics.a DESC".into()]).is_err());
    }

    #[test]
    fn page_tokens_match_mlflow() {
        assert_eq!(encode_page_token(2), "eyJvZmZzZXQiOiAyfQ==");
        assert_eq!(decode_page_token(Some("eyJvZmZzZXQiOiAyfQ==")), Ok(2));
        assert_eq!(decode_page_token(None), Ok(0));
        assert!(decode_page_token(Some("garbage!")).is_err());
        assert!(decode_page_token(Some(&encode_page_token(0))).is_err());
    }

    #[test]
    fn registry_filters() {
        let c = parse_registry_filter("name = 'wine' and tags.task = 'reg'", &REGISTERED_MODELS)
            .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            parse_registry_filter("name IN ('a','b')", &REGISTERED_MODELS).unwrap()[0].value,
            Value::List(vec!["a".into(), "b".into()])
        );
        assert!(parse_registry_filter("run_id IN ('a','b')", &MODEL_VERSIONS).is_ok());
        assert!(parse_registry_filter("metrics.x > 1", &REGISTERED_MODELS).is_err());
        assert!(parse_registry_filter("run_id = 'x'", &REGISTERED_MODELS).is_err());
        assert!(parse_registry_filter("tags.x IS NULL", &REGISTERED_MODELS).is_err());
        assert!(parse_registry_filter("tags.x IS NULL", &EXPERIMENTS).is_ok());
        assert!(parse_registry_filter("name IN ('a')", &EXPERIMENTS).is_err());
    }
}
