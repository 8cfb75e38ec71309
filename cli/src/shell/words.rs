//! Splitting a shell line into words, and the table of commands (for `help` and completion).

/// Splits `line` into words with `shlex` (POSIX shell quoting: `'...'`, `"..."`, whitespace
/// between words, `#` at the start of a word begins a comment), except that a backslash is
/// never a quoting character: it is kept in the word, for [`crate::escape::parse`] to read
/// as the start of an escape (`\x00`, `\n`, `\\`, ...). So `get a\x00b`, `get "a\x00b"` and
/// the text `kevo scan --escaped` prints all mean the same key. Single quotes still make
/// their text literal: `'a\nb'` is `a`, backslash, `n`, `b`.
///
/// Consequences: a `"` inside double quotes is written `\x22` (or the word single-quoted),
/// a space inside an unquoted word `\x20` (or the word quoted).
///
/// Errors: a quote left open.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    // Doubling every backslash makes shlex hand each one back unchanged outside quotes and
    // inside double quotes (where `\\` means `\`); inside single quotes it stays doubled,
    // which the escape reader then turns back into one literal backslash.
    shlex::split(&line.replace('\\', "\\\\")).ok_or_else(|| "a quote is not closed".to_string())
}

/// One shell command: its name, its arguments' synopsis and what it does.
#[derive(Debug, Clone, Copy)]
pub struct CommandInfo {
    /// The name typed at the start of a line.
    pub name: &'static str,
    /// What it does in a few words, for the list `help` prints.
    pub summary: &'static str,
    /// The arguments, as `help` shows them.
    pub args: &'static str,
    /// What it does, for `help NAME`.
    pub help: &'static str,
}

/// Every shell command, in the order `help` lists them.
pub const COMMANDS: &[CommandInfo] = &[
    CommandInfo {
        name: "get",
        summary: "print a value",
        args: "KEY",
        help: "Print the value of KEY. An absent key prints \"(not found)\" on stderr (not an error).",
    },
    CommandInfo {
        name: "put",
        summary: "set a key",
        args: "KEY VALUE",
        help: "Set KEY to VALUE. Inside a batch or transaction the write is queued until commit.",
    },
    CommandInfo {
        name: "delete",
        summary: "delete a key",
        args: "KEY",
        help: "Delete KEY. Inside a batch or transaction the write is queued until commit.",
    },
    CommandInfo {
        name: "delete-range",
        summary: "delete the keys in [START, END)",
        args: "START END",
        help: "Delete every key in [START, END). Inside a batch or transaction it is queued until commit.",
    },
    CommandInfo {
        name: "scan",
        summary: "print key<TAB>value lines",
        args: "[--prefix P | START [END]] [--limit N] [--reverse]",
        help: "Print key<TAB>value lines (the escaped form of kevo scan --escaped) of every key, \
               the keys starting with P, or the keys in [START, END); --reverse from the last.",
    },
    CommandInfo {
        name: "count",
        summary: "count the keys scan would print",
        args: "[--prefix P | START [END]] [--limit N]",
        help: "Print the number of keys that scan with the same arguments would print.",
    },
    CommandInfo {
        name: "batch",
        summary: "queue writes until commit / abort",
        args: "",
        help: "Start a write batch: put, delete and delete-range queue into one WriteBatch \
               until commit writes it atomically or abort drops it. Reads do not see it.",
    },
    CommandInfo {
        name: "begin",
        summary: "begin a transaction (commit / rollback)",
        args: "",
        help: "Begin an optimistic transaction: reads see its snapshot plus its own writes; \
               commit writes them atomically unless another write to the same keys came \
               first (a conflict: nothing is written); rollback drops them.",
    },
    CommandInfo {
        name: "commit",
        summary: "write the batch / commit the transaction",
        args: "",
        help: "Write the open batch, or commit the open transaction. Either way it is over afterwards.",
    },
    CommandInfo {
        name: "abort",
        summary: "drop the batch",
        args: "",
        help: "Drop the open batch (or transaction) without writing anything.",
    },
    CommandInfo {
        name: "rollback",
        summary: "drop the transaction",
        args: "",
        help: "Drop the open transaction (or batch) without writing anything.",
    },
    CommandInfo {
        name: "snapshot",
        summary: "read as of now until release",
        args: "",
        help: "Take a snapshot: until release, get, scan and count read the database as of now \
               (writes still go to the database; a transaction reads at its own snapshot).",
    },
    CommandInfo {
        name: "release",
        summary: "release the snapshot",
        args: "",
        help: "Release the snapshot: reads see the database as of each read again.",
    },
    CommandInfo {
        name: "stats",
        summary: "print the engine's statistics",
        args: "",
        help: "Print the engine's statistics (the kevo.stats property, as kevo stats prints it).",
    },
    CommandInfo {
        name: "flush",
        summary: "write the memtable to an SSTable",
        args: "",
        help: "Write the memtable out to an SSTable now.",
    },
    CommandInfo {
        name: "compact",
        summary: "compact a key range (default: all)",
        args: "[START END]",
        help: "Compact the keys from START to END (both inclusive; default everything) down to \
               one sorted run, as kevo compact does.",
    },
    CommandInfo {
        name: "help",
        summary: "list the commands, or describe one",
        args: "[COMMAND]",
        help: "List the commands, or describe one.",
    },
    CommandInfo {
        name: "exit",
        summary: "leave the shell",
        args: "",
        help: "Leave the shell (so do quit and end of input). An open batch or transaction is \
               dropped, which counts as an error.",
    },
    CommandInfo {
        name: "quit",
        summary: "leave the shell",
        args: "",
        help: "Leave the shell, like exit.",
    },
];

/// The command named `name`.
pub fn command(name: &str) -> Option<&'static CommandInfo> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The options of the commands that take any (for completion).
pub fn options_of(name: &str) -> &'static [&'static str] {
    match name {
        "scan" => &["--prefix", "--limit", "--reverse"],
        "count" => &["--prefix", "--limit"],
        _ => &[],
    }
}

/// What `help` prints: every command with its synopsis and summary, then how keys are typed.
pub fn help_all() -> String {
    let mut s = String::from("Commands:\n");
    for c in COMMANDS {
        let synopsis = format!("{} {}", c.name, c.args);
        let synopsis = synopsis.trim_end();
        if synopsis.len() > 30 {
            s.push_str(&format!("  {synopsis}\n  {:<30} {}\n", "", c.summary));
        } else {
            s.push_str(&format!("  {synopsis:<30} {}\n", c.summary));
        }
    }
    s.push_str(
        "Keys and values are text with escapes \\xNN (any byte), \\n, \\t, \\r, \\0, \\\\, \\u{N},\n\
         or hex after 0x (0x00ff); output uses the same form. Quote words with spaces\n\
         (\"a b\" or 'a b'; single quotes keep backslashes literal). help COMMAND for more.\n",
    );
    s
}

/// What `help NAME` prints.
pub fn help_one(c: &CommandInfo) -> String {
    format!("{} {}\n  {}\n", c.name, c.args, c.help).replace(" \n", "\n")
}

/// Completions of the word that ends at byte `pos` of `line`: command names for the first
/// word (and for the word after `help`), options for `scan` and `count`. Returns where the
/// word starts and the candidates (each with a trailing space).
pub fn complete(line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before.rfind(char::is_whitespace).map_or(0, |i| {
        i + before[i..].chars().next().map_or(1, char::len_utf8)
    });
    let word = &before[start..];
    let earlier: Vec<&str> = before[..start].split_whitespace().collect();
    let pool: Vec<&str> = match earlier.as_slice() {
        [] | ["help"] => COMMANDS.iter().map(|c| c.name).collect(),
        [cmd, ..] if word.starts_with('-') => options_of(cmd).to_vec(),
        _ => Vec::new(),
    };
    let candidates = pool
        .into_iter()
        .filter(|c| c.starts_with(word))
        .map(|c| format!("{c} "))
        .collect();
    (start, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn backslashes_reach_the_escape_reader() {
        assert_eq!(words(r"get a\x00b"), ["get", r"a\x00b"]);
        assert_eq!(words(r#"put "a b\n" 'x y'"#), ["put", r"a b\n", "x y"]);
        assert_eq!(words(r"put a\\b v"), ["put", r"a\\b", "v"]);
        assert_eq!(words(r#"put "a\\b" v"#), ["put", r"a\\b", "v"]);
        // Single quotes: literal, so the backslash comes back escaped.
        assert_eq!(words(r"put 'a\nb' v"), ["put", r"a\\nb", "v"]);
        assert_eq!(
            crate::escape::parse(&words(r"get 'a\nb'")[1]).unwrap(),
            b"a\\nb"
        );
        assert_eq!(words("put k ''"), ["put", "k", ""]);
        assert_eq!(words("  scan   --limit 3  "), ["scan", "--limit", "3"]);
        assert_eq!(words("put k v # a comment"), ["put", "k", "v"]);
        assert!(words("# only a comment").is_empty());
        assert!(words("").is_empty());
    }

    proptest::proptest! {
        /// What the shell prints for any bytes without a `"`, typed back in double quotes,
        /// is one word that parses to the same bytes; bytes whose escaped form has no
        /// space, quote or leading `#` need no quotes at all.
        #[test]
        fn printed_text_typed_back_is_the_same_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)
        ) {
            let text = crate::escape::escape(&bytes);
            if !text.contains('"') {
                let w = split(&format!("get \"{text}\"")).unwrap();
                proptest::prop_assert_eq!(w.len(), 2);
                proptest::prop_assert_eq!(crate::escape::parse(&w[1]).unwrap(), bytes.clone());
            }
            let plain = !text.is_empty()
                && !text.starts_with('#')
                && !text.contains([' ', '"', '\'', '\u{a0}'])
                && !text.chars().any(char::is_whitespace);
            if plain {
                let w = split(&format!("get {text}")).unwrap();
                proptest::prop_assert_eq!(w.len(), 2);
                proptest::prop_assert_eq!(crate::escape::parse(&w[1]).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn open_quotes_are_an_error() {
        assert!(split("get 'abc").is_err());
        assert!(split("get \"abc").is_err());
        assert!(
            split(r#"get "a\"b""#).is_err(),
            "\\\" does not escape a quote"
        );
    }

    #[test]
    fn every_command_has_help() {
        for c in COMMANDS {
            assert!(!c.help.is_empty() && !c.summary.is_empty(), "{}", c.name);
            assert!(help_all().contains(c.name), "{}", c.name);
            assert!(help_one(c).starts_with(c.name));
        }
        assert!(command("delete-range").is_some());
        assert!(command("nope").is_none());
    }

    #[test]
    fn completes_command_names_and_options() {
        assert_eq!(complete("ge", 2), (0, vec!["get ".to_string()]));
        let (start, mut c) = complete("co", 2);
        c.sort();
        assert_eq!(
            (start, c),
            (
                0,
                vec!["commit ".into(), "compact ".into(), "count ".into()]
            )
        );
        assert_eq!(complete("help del", 8).1, ["delete ", "delete-range "]);
        assert_eq!(
            complete("scan --re", 9),
            (5, vec!["--reverse ".to_string()])
        );
        assert_eq!(complete("count --", 8).1, ["--prefix ", "--limit "]);
        assert!(complete("get k", 5).1.is_empty(), "keys are not completed");
        assert_eq!(complete("  fl", 4), (2, vec!["flush ".to_string()]));
        assert_eq!(complete("", 0).1.len(), COMMANDS.len());
    }
}
