//! The command a moderator runs to record a review decision: `aws lambda invoke` with the
//! decision input the producer prepared. The function name and the input come from the event,
//! so both are treated as hostile: the name must be a Lambda function name, the input is
//! written again by [`escape::inert_json`] for each format, and a command that cannot be shown
//! whole is not shown at all (a cut command would record something else, or nothing).

use serde_json::Value;

use crate::escape::{self, CommandFormat};
use crate::language::Language;

/// Longest command shown (bytes of its longest form): two of them, the title and the
/// mentions fit in WeCom's 4096-byte message, one fits Slack's 3000-character section. Room
/// for an S3 key of about 600 characters.
pub const MAX_COMMAND_BYTES: usize = 1000;

/// Longest function name or ARN (with a qualifier) Lambda accepts.
const MAX_FUNCTION_NAME_CHARS: usize = 170;

/// A command to show, with what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `Approve with` / `批准命令`: ours, not from the event.
    pub label: String,
    function_name: String,
    input: Value,
}

/// Why the decision commands of an event are not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandProblem {
    /// Not a Lambda function name (or one a shell or a markdown renderer would read).
    FunctionName,
    /// The decision input is not a JSON object.
    Input,
    /// Longer than [`MAX_COMMAND_BYTES`].
    TooLong(usize),
}

impl CommandProblem {
    /// The problem in words, for the person who then records the decision another way.
    pub fn describe(&self, language: Language) -> String {
        match (self, language) {
            (CommandProblem::FunctionName, Language::En) => {
                "the function name is not a Lambda function name".into()
            }
            (CommandProblem::FunctionName, Language::Zh) => "函数名不是有效的 Lambda 函数名".into(),
            (CommandProblem::Input, Language::En) => {
                "the decision input is not a JSON object".into()
            }
            (CommandProblem::Input, Language::Zh) => "决定输入不是 JSON 对象".into(),
            (CommandProblem::TooLong(bytes), Language::En) => {
                format!("it would be {bytes} bytes long, at most {MAX_COMMAND_BYTES} are shown")
            }
            (CommandProblem::TooLong(bytes), Language::Zh) => {
                format!("命令长 {bytes} 字节，超过可显示的 {MAX_COMMAND_BYTES} 字节")
            }
        }
    }
}

/// A Lambda function name, partial or full ARN, without `$` (a shell would expand `$LATEST`)
/// or a leading `-` (the CLI would read an option); `_` only between letters or digits, where
/// no markdown renderer reads it as emphasis.
fn is_function_name(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    if chars.is_empty()
        || chars.len() > MAX_FUNCTION_NAME_CHARS
        || !chars[0].is_ascii_alphanumeric()
    {
        return false;
    }
    chars.iter().enumerate().all(|(i, &c)| match c {
        c if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':') => true,
        '_' => escape::between_letters(
            i.checked_sub(1).map(|j| chars[j]),
            chars.get(i + 1).copied(),
        ),
        _ => false,
    })
}

impl Command {
    /// The command invoking `function_name` with `input` (JSON text), checked as described
    /// in the module documentation.
    pub fn new(label: &str, function_name: &str, input: &str) -> Result<Self, CommandProblem> {
        if !is_function_name(function_name) {
            return Err(CommandProblem::FunctionName);
        }
        let input: Value = serde_json::from_str(input).map_err(|_| CommandProblem::Input)?;
        if !input.is_object() {
            return Err(CommandProblem::Input);
        }
        let command = Self {
            label: label.to_string(),
            function_name: function_name.to_string(),
            input,
        };
        // The markdown form escapes the most, so it is the longest.
        let bytes = command.text(CommandFormat::ChatMarkdown).len();
        if bytes > MAX_COMMAND_BYTES {
            return Err(CommandProblem::TooLong(bytes));
        }
        Ok(command)
    }

    /// The command as it is shown in `format`: one line, exact when copied.
    pub fn text(&self, format: CommandFormat) -> String {
        format!(
            "aws lambda invoke --function-name {} --cli-binary-format raw-in-base64-out --payload '{}' /dev/stdout",
            self.function_name,
            escape::inert_json(&self.input, format)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys in alphabetical order: the same text whether or not serde_json keeps the order.
    const INPUT: &str = r#"{"review":{"bucket":"media","decision":"approved","key":"covers/x_1.jpg","reviewer":"alice","version_id":"v1"}}"#;

    #[test]
    fn an_ordinary_input_is_shown_as_the_producer_wrote_it() {
        let c = Command::new("Approve with", "media-suite-prod-ai-processor", INPUT).unwrap();
        let expected = format!("aws lambda invoke --function-name media-suite-prod-ai-processor --cli-binary-format raw-in-base64-out --payload '{INPUT}' /dev/stdout");
        assert_eq!(c.text(CommandFormat::Text), expected);
        // An `_` between letters is no emphasis: markdown gets the same text.
        assert_eq!(c.text(CommandFormat::ChatMarkdown), expected);
        let emphasis = Command::new("x", "f", r#"{"key":"_draft_.jpg"}"#).unwrap();
        assert!(emphasis
            .text(CommandFormat::ChatMarkdown)
            .contains(r#"{"key":"\u005fdraft\u005f.jpg"}"#));
        assert!(emphasis
            .text(CommandFormat::Text)
            .contains(r#"{"key":"_draft_.jpg"}"#));
    }

    #[test]
    fn hostile_keys_cannot_leave_the_quotes_or_the_code_and_read_back_the_same() {
        let key = "a'; rm -rf ~; echo '`x` <@all> [l](https://evil.example) \"q\" \\ \n\u{202e}gpj.exe 名字.mp4";
        let input = serde_json::json!({"review": {"key": key}}).to_string();
        let c = Command::new("Reject with", "ai-processor", &input).unwrap();
        for format in [CommandFormat::Text, CommandFormat::ChatMarkdown] {
            let text = c.text(format);
            let payload = text
                .split_once(" --payload '")
                .and_then(|(_, rest)| rest.strip_suffix("' /dev/stdout"))
                .unwrap();
            for forbidden in ['\'', '`', '<', '>', '\n', '\u{202e}'] {
                assert!(!payload.contains(forbidden), "{forbidden:?} in {payload}");
            }
            // The only backslashes are the \uXXXX escapes: never `\"`, which markdown eats.
            assert!(
                !payload.contains("\\\"") && !payload.contains("\\\\"),
                "{payload}"
            );
            let back: Value = serde_json::from_str(payload).unwrap();
            assert_eq!(back["review"]["key"], key, "{format:?}");
            assert!(
                payload.contains("名字.mp4"),
                "letters of any script stay readable"
            );
        }
        let markdown = c.text(CommandFormat::ChatMarkdown);
        assert_eq!(
            crate::escape::chat_markdown(&markdown),
            markdown.replace('\\', "＼")
        );
    }

    #[test]
    fn function_names_a_shell_or_a_renderer_would_read_are_refused() {
        for ok in [
            "ai-processor",
            "media_suite_ai",
            "arn:aws-cn:lambda:cn-northwest-1:123456789012:function:media-suite-prod-ai-processor:live",
        ] {
            assert!(Command::new("x", ok, "{}").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "--payload",
            "fn:$LATEST",
            "a b",
            "fn;rm -rf ~",
            "_emphasis_",
            "a__b",
            "<@all>",
            &"f".repeat(171),
        ] {
            assert_eq!(
                Command::new("x", bad, "{}"),
                Err(CommandProblem::FunctionName),
                "{bad}"
            );
        }
    }

    #[test]
    fn inputs_that_are_not_objects_or_too_long_are_not_shown() {
        for bad in ["", "not json", "[1]", "\"s\"", "{\"a\":"] {
            assert_eq!(
                Command::new("x", "f", bad),
                Err(CommandProblem::Input),
                "{bad}"
            );
        }
        let long = serde_json::json!({"key": "k".repeat(1200)}).to_string();
        assert!(matches!(
            Command::new("x", "f", &long),
            Err(CommandProblem::TooLong(n)) if n > MAX_COMMAND_BYTES
        ));
    }
}
