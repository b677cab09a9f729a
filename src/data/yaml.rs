//! Scalars written the way DVC's YAML library (ruamel, YAML 1.2, block style, width 80) writes
//! them, so `.dvc` files vintner writes are byte-identical to DVC's: plain when safe, single
//! quotes when the text would read as another type or holds an indicator, double quotes with
//! escapes for control characters, and lines folded past column 80.

const BEST_WIDTH: usize = 80;

/// Renders `value` as the value of a block-mapping key whose `:` ends at `column`, with
/// continuation lines indented by `indent`. The result starts with the separating space.
pub fn scalar(value: &str, column: usize, indent: usize) -> String {
    if value.is_empty() {
        return " ''".into();
    }
    if needs_double_quotes(value) {
        return format!(" {}", double_quoted(value));
    }
    if plain_allowed(value) {
        plain(value, column, indent)
    } else if value.contains('\'') {
        // ruamel picks double quotes over doubling the single quote.
        format!(" {}", double_quoted(value))
    } else {
        single_quoted(value, column, indent)
    }
}

fn needs_double_quotes(s: &str) -> bool {
    s.chars().any(|c| {
        let u = c as u32;
        u < 0x20
            || u == 0x7f
            || (0x80..=0x9f).contains(&u)
            || c == '\u{feff}'
            || (0xd800..=0xdfff).contains(&u)
            || c == '\u{fffe}'
            || c == '\u{ffff}'
    })
}

/// Whether ruamel would emit `s` as a plain block scalar.
fn plain_allowed(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let first = chars[0];
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    let followed_by_space = |i: usize| chars.get(i + 1).is_none_or(|c| *c == ' ');
    if "?:-".contains(first) && followed_by_space(0) {
        return false;
    }
    if first == ' ' || chars[chars.len() - 1] == ' ' {
        return false;
    }
    for (i, &c) in chars.iter().enumerate() {
        if c == ':' && followed_by_space(i) {
            return false;
        }
        if c == '#' && i > 0 && chars[i - 1] == ' ' {
            return false;
        }
    }
    !resolves_to_non_string(s)
}

/// YAML 1.2 implicit types as ruamel resolves them (its resolver's patterns and the first
/// characters that gate each): bool, null, int, float, merge, timestamp.
fn resolves_to_non_string(s: &str) -> bool {
    use std::sync::LazyLock;
    static FLOAT: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
        .expect("valid float pattern")
    });
    static INT: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")
            .expect("valid int pattern")
    });
    static TIMESTAMP: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
        )
        .expect("valid timestamp pattern")
    });
    const WORDS: [&str; 10] = [
        "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
    ];
    if WORDS.contains(&s) || s == "<<" || s == "=" {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    ("-+0123456789.".contains(first) && FLOAT.is_match(s))
        || ("-+0123456789".contains(first) && INT.is_match(s))
        || (first.is_ascii_digit() && TIMESTAMP.is_match(s))
}

/// Plain style: words longer than the width get a line of their own; a single space past the
/// width becomes a line break.
fn plain(s: &str, column: usize, indent: usize) -> String {
    let mut out = String::from(" ");
    let mut col = column + 1;
    let newline = |out: &mut String, col: &mut usize| {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        *col = indent;
    };
    let mut rest = s;
    while !rest.is_empty() {
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        if spaces > 0 {
            if spaces == 1 && col > BEST_WIDTH {
                newline(&mut out, &mut col);
            } else {
                out.push_str(&rest[..spaces]);
                col += spaces;
            }
            rest = &rest[spaces..];
            continue;
        }
        let word_len = rest.find(' ').unwrap_or(rest.len());
        let word = &rest[..word_len];
        let width = word.chars().count();
        // ruamel: a word that would cross the width starts a new line.
        if width + col > BEST_WIDTH && col > indent {
            newline(&mut out, &mut col);
        }
        out.push_str(word);
        col += width;
        rest = &rest[word_len..];
    }
    out
}

/// Single quotes (`''` for a quote), folding at single inner spaces past the width.
fn single_quoted(s: &str, column: usize, indent: usize) -> String {
    let mut out = String::from(" '");
    let mut col = column + 2;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            let run = chars[i..].iter().take_while(|&&x| x == ' ').count();
            let inner = i != 0 && i + run != chars.len();
            if run == 1 && inner && col > BEST_WIDTH {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                col = indent;
            } else {
                out.push_str(&" ".repeat(run));
                col += run;
            }
            i += run;
            continue;
        }
        if c == '\'' {
            out.push_str("''");
            col += 2;
        } else {
            out.push(c);
            col += 1;
        }
        i += 1;
    }
    out.push('\'');
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0b}' => out.push_str("\\v"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if c == '\u{feff}'
                || (0xd800..=0xdfff).contains(&(c as u32))
                || c == '\u{fffe}'
                || c == '\u{ffff}' =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_line(p: &str) -> String {
        format!("  path:{}", scalar(p, 7, 4))
    }

    #[test]
    fn quoting_matches_observed_dvc_output() {
        for plain in [
            "my file.csv",
            "caf\u{e9}.csv",
            "-x",
            "y",
            "on",
            "\u{fc}n\u{ef}\u{1F600}",
            "a#b",
            "it's",
        ] {
            assert_eq!(path_line(plain), format!("  path: {plain}"), "{plain}");
        }
        for quoted in [
            "123",
            "true",
            "null",
            "1e3",
            "0x1F",
            "1_000",
            "~",
            "@x",
            "#x",
            "a: b",
            "a #b",
            "trailing ",
        ] {
            assert_eq!(path_line(quoted), format!("  path: '{quoted}'"), "{quoted}");
        }
        assert_eq!(path_line("tab\there"), "  path: \"tab\\there\"");
        assert_eq!(path_line("new\nline"), "  path: \"new\\nline\"");
        assert_eq!(path_line("o'k: x"), "  path: \"o'k: x\"");
    }

    #[test]
    fn long_word_gets_its_own_line() {
        let long = "a".repeat(90) + ".csv";
        assert_eq!(path_line(&long), format!("  path: \n    {long}"));
        let short = "a".repeat(70);
        assert_eq!(path_line(&short), format!("  path: {short}"));
        let crossing = "b".repeat(73);
        assert_eq!(path_line(&crossing), format!("  path: \n    {crossing}"));
    }

    #[test]
    fn long_text_with_spaces_folds_past_column_80() {
        let words = vec!["word"; 30].join(" ");
        let line = path_line(&words);
        assert!(line.lines().count() > 1, "{line}");
        for l in line.lines() {
            assert!(l.len() <= 86, "{l}");
        }
        for l in line.lines().skip(1) {
            assert!(l.starts_with("    word"), "{l}");
        }
    }

    #[test]
    fn floats_and_ints() {
        for s in [
            "1.5",
            ".5",
            "1.",
            "-1e-3",
            "+12",
            "0b101",
            "0o17",
            ".inf",
            "-.inf",
            ".nan",
            "2024-01-02",
        ] {
            assert!(resolves_to_non_string(s), "{s}");
        }
        for s in ["1.2.3", "e3", "abc", "1e", "x1", "0xZZ", ".", "-"] {
            assert!(!resolves_to_non_string(s), "{s}");
        }
    }
}
