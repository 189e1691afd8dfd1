//! Input echoed in errors and logs, cut short: a huge field must not make a huge error.

/// Longest piece of input echoed in an error message, in characters.
pub const MAX_ECHOED_CHARS: usize = 64;

/// `text` cut to [`MAX_ECHOED_CHARS`] (with `…` when cut), for echoing input in errors and
/// logs.
pub fn shown(text: &str) -> String {
    cut(text, MAX_ECHOED_CHARS)
}

/// Longest error reason (serde messages can quote a whole field of the input).
const MAX_REASON_CHARS: usize = 300;

/// An error's text cut to `MAX_REASON_CHARS` characters.
pub fn reason(error: impl std::fmt::Display) -> String {
    cut(&error.to_string(), MAX_REASON_CHARS)
}

fn cut(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_cuts_long_input_on_a_character_boundary() {
        assert_eq!(shown("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(shown(&long).chars().count(), MAX_ECHOED_CHARS + 1);
        assert!(shown(&long).ends_with('…'));
        assert_eq!(reason("x".repeat(1000)).chars().count(), 301);
    }
}
