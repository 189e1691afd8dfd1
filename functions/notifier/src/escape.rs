//! Untrusted text (file names, labels, reasons) made inert for each format it goes into.
//!
//! DingTalk and WeCom markdown and Feishu `lark_md` are proprietary subsets with no documented,
//! reliable escape character, and each reads its own mention syntax (`<@userid>`, `<at id=..>`,
//! `@mobile`). So instead of backslash escapes, the characters that start any syntax there are
//! replaced by their full-width forms (`[` → `［`, `<` → `＜`, ...): text a person reads the same,
//! that no renderer can take for a link, a mention, HTML or emphasis. Slack documents its
//! escaping (`&amp;`, `&lt;`, `&gt;`) and gets exactly that.

/// Longest fact value shown; a 1,000-character file name must not fill a chat screen.
pub const MAX_VALUE_CHARS: usize = 300;
/// Longest title.
pub const MAX_TITLE_CHARS: usize = 200;

/// One line of at most `max` characters: control characters (line breaks included, which could
/// start a heading, a quote or a forged fact line) become spaces.
pub fn one_line(s: &str, max: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() <= max {
        cleaned.to_string()
    } else {
        let mut cut: String = cleaned.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Text for DingTalk / WeCom markdown and Feishu `lark_md`. An `_` between letters or digits
/// (`summer_party.jpg`) stays: it can neither open nor close emphasis.
pub fn chat_markdown(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            '_' if between_letters(
                i.checked_sub(1).map(|j| chars[j]),
                chars.get(i + 1).copied(),
            ) =>
            {
                '_'
            }
            '\\' => '＼',
            '*' => '＊',
            '_' => '＿',
            '`' => '｀',
            '[' => '［',
            ']' => '］',
            '#' => '＃',
            '<' => '＜',
            '>' => '＞',
            '@' => '＠',
            '~' => '～',
            '|' => '｜',
            '&' => '＆',
            '!' => '！',
            other => other,
        })
        .collect()
}

/// Text for Feishu `text` messages, which read `<at user_id="...">` mentions.
pub fn feishu_text(s: &str) -> String {
    s.replace('<', "＜").replace('>', "＞")
}

/// Text for Slack `mrkdwn` and `text`: the three characters Slack documents as control
/// characters (`<@U123>`, `<!channel>`, `<http://x|link>` all need `<`).
pub fn slack(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An http(s) URL safe inside `[text](url)` and `<url|text>`: parsed, and the characters that
/// could close or extend the link syntax percent-encoded. `None` for anything else.
pub fn web_link(raw: &str) -> Option<String> {
    let url = reqwest::Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let mut out = String::with_capacity(url.as_str().len());
    for c in url.as_str().chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '[' => out.push_str("%5B"),
            ']' => out.push_str("%5D"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '|' => out.push_str("%7C"),
            '*' => out.push_str("%2A"),
            '_' => out.push_str("%5F"),
            c => out.push(c),
        }
    }
    Some(out)
}

/// Where a command a person copies is shown: its text must read the same there and survive
/// copy and paste exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandFormat {
    /// Plain text and Slack code blocks (SNS, e-mail, webhook, Feishu `text`, Slack).
    Text,
    /// DingTalk / WeCom markdown and Feishu `lark_md`, which read the characters
    /// [`chat_markdown`] replaces and have no escape character of their own.
    ChatMarkdown,
}

impl CommandFormat {
    /// Characters of a JSON string shown as they are. Letters and digits of any script and
    /// the ASCII punctuation the format does not read stay readable; the rest (the shell's `'`,
    /// the format's syntax, control and invisible characters such as bidi overrides, symbols)
    /// is written as a `\uXXXX` escape. An `_` between letters or digits (`version_id`) is
    /// no emphasis in markdown, so it stays too.
    fn shows(self, c: char, before: Option<char>, after: Option<char>) -> bool {
        if c.is_ascii_alphanumeric() || c == ' ' || (!c.is_ascii() && c.is_alphanumeric()) {
            return true;
        }
        if c == '_' && between_letters(before, after) {
            return true;
        }
        // `"` and `\` never reach this test: serde_json escapes them, see `write_char_escape`.
        let read_by_format: &[char] = match self {
            CommandFormat::Text => &['\'', '`', '<', '>', '&'],
            CommandFormat::ChatMarkdown => &[
                '\'', '`', '<', '>', '&', '*', '_', '[', ']', '#', '@', '~', '|', '!',
            ],
        };
        c.is_ascii_punctuation() && !read_by_format.contains(&c)
    }
}

/// True when both neighbours are ASCII letters or digits: an `_` there opens or closes no
/// emphasis (CommonMark's intraword rule), so markdown shows it as it is.
pub fn between_letters(before: Option<char>, after: Option<char>) -> bool {
    before.is_some_and(|c| c.is_ascii_alphanumeric())
        && after.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A serde_json formatter that writes string characters a format would read as `\uXXXX`
/// escapes, which every JSON parser reads back as the same character.
struct InertStrings(CommandFormat);

fn write_unicode_escape<W: ?Sized + std::io::Write>(
    writer: &mut W,
    c: char,
) -> std::io::Result<()> {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        write!(writer, "\\u{unit:04x}")?;
    }
    Ok(())
}

impl serde_json::ser::Formatter for InertStrings {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // A neighbour beyond the fragment is unknown (an escape may follow): treated as none.
        let chars: Vec<char> = fragment.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let before = i.checked_sub(1).map(|j| chars[j]);
            if self.0.shows(c, before, chars.get(i + 1).copied()) {
                let mut buf = [0u8; 4];
                writer.write_all(c.encode_utf8(&mut buf).as_bytes())?;
            } else {
                write_unicode_escape(writer, c)?;
            }
        }
        Ok(())
    }

    /// `"`, `\` and control characters as `\uXXXX` too, never `\"` or `\n`: a markdown
    /// renderer would take `\"` for an escaped quote and drop the backslash.
    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape;
        let c = match escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(byte) => char::from(byte),
        };
        write_unicode_escape(writer, c)
    }
}

/// A JSON document as one line that is inert in `format` and reads back as `value`: no
/// character in it starts a link, a mention, HTML, emphasis or code there, ends a shell
/// single-quoted word, or hides what is written (control and invisible characters). So it
/// can be shown as it is, without [`chat_markdown`] or [`slack`] changing what a person copies.
pub fn inert_json(value: &serde_json::Value, format: CommandFormat) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, InertStrings(format));
    serde::Serialize::serialize(value, &mut serializer)
        .expect("a serde_json::Value always serializes into memory");
    // Every byte written is either ASCII or a whole UTF-8 character of a string.
    String::from_utf8(out).expect("UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_markdown_leaves_no_syntax_character() {
        let hostile = "[x](https://evil.example) <@all> <at user_id=\"all\"> **b** `c` #h \\ @138 ~~s~~ | &lt; !";
        let safe = chat_markdown(hostile);
        for c in [
            '[', ']', '<', '>', '*', '`', '#', '\\', '@', '~', '|', '&', '!',
        ] {
            assert!(!safe.contains(c), "{c:?} left in {safe}");
        }
        assert_eq!(chat_markdown("clip 1.mp4"), "clip 1.mp4");
        assert_eq!(
            chat_markdown("summer_party _it_ a__b_.jpg"),
            "summer_party ＿it＿ a＿＿b＿.jpg"
        );
    }

    #[test]
    fn one_line_removes_line_breaks_and_caps_the_length() {
        assert_eq!(one_line("a\nb\r\n# c\u{7}", 50), "a b  # c");
        let long = one_line(&"名".repeat(1000), 300);
        assert_eq!(long.chars().count(), 300);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn links_are_web_urls_that_cannot_break_out_of_link_syntax() {
        assert_eq!(
            web_link("https://console.example.com/m/1").as_deref(),
            Some("https://console.example.com/m/1")
        );
        let tricky = web_link("https://x.example/a)[evil](https://y.example)|b>").unwrap();
        for c in ['(', ')', '[', ']', '|', '>'] {
            assert!(!tricky.contains(c), "{tricky}");
        }
        assert_eq!(web_link("javascript:alert(1)"), None);
        assert_eq!(web_link("s3://bucket/key"), None);
    }
}
