//! `taskgraph.util.shell.quote`.

/// Joins `args` with spaces, single-quoting each one a POSIX shell would
/// otherwise split or interpret.
///
/// An argument is left alone when it is non-empty, does not start with `~`
/// and holds none of `\ \t \r \n space ' " # < > & | ` ( ) { } $ ; * ?`.
/// Otherwise it is wrapped in single quotes, and each `'` inside becomes
/// `'\''` (close the quotes, an escaped quote, reopen).
pub fn shell_quote(args: &[&str]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        quote_one(&mut out, arg);
    }
    out
}

fn quote_one(out: &mut String, arg: &str) {
    let safe = !arg.is_empty() && !arg.starts_with('~') && !arg.contains(needs_quotes);
    if safe {
        out.push_str(arg);
        return;
    }

    out.push('\'');
    out.push_str(&arg.replace('\'', "'\\''"));
    out.push('\'');
}

fn needs_quotes(c: char) -> bool {
    matches!(
        c,
        '\\' | '\t'
            | '\r'
            | '\n'
            | ' '
            | '\''
            | '"'
            | '#'
            | '<'
            | '>'
            | '&'
            | '|'
            | '`'
            | '('
            | ')'
            | '{'
            | '}'
            | '$'
            | ';'
            | '*'
            | '?'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_taskgraph() {
        // Expected strings from taskgraph.util.shell.quote in Python 3.11.
        let cases: [(&[&str], &str); 12] = [
            (&["a", "b"], "a b"),
            (&["a b", "c"], "'a b' c"),
            (&[""], "''"),
            (&["~/x"], "'~/x'"),
            (&["a~b"], "a~b"),
            (&["it's"], "'it'\\''s'"),
            (&["$HOME", "a;b", "x*", "q?"], "'$HOME' 'a;b' 'x*' 'q?'"),
            (&["tab\there", "new\nline"], "'tab\there' 'new\nline'"),
            (
                &["back\\slash", "`cmd`", "(x)", "{y}"],
                "'back\\slash' '`cmd`' '(x)' '{y}'",
            ),
            (
                &["a=b", "--flag=1", "/path/to-file.txt", "é"],
                "a=b --flag=1 /path/to-file.txt é",
            ),
            (&["#", "<", ">", "&", "|", "\""], "'#' '<' '>' '&' '|' '\"'"),
            (&[], ""),
        ];
        for (args, expected) in cases {
            assert_eq!(shell_quote(args), expected, "{args:?}");
        }
    }
}
