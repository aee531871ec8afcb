//! The built-in demo behaviour, used until a dialplan is configured: welcome the caller,
//! then read back every key they press. Pure: the call shell feeds it events.

/// What the demo asks the call shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoAction {
    /// Play these prompt ids, in order, after whatever is already playing.
    Play(Vec<String>),
}

/// The prompt that reads back one keypad key (the readback module's digit prompts).
pub fn digit_prompt(key: char) -> Option<&'static str> {
    let mut buf = [0u8; 4];
    let prompts = crate::prompts::readback::digits(key.encode_utf8(&mut buf))?;
    prompts.first().copied()
}

/// Every prompt the demo can play: checked at start-up so a missing file is an error
/// then, not silence in a call.
pub fn required_prompts() -> impl Iterator<Item = &'static str> {
    std::iter::once("welcome").chain("0123456789*#".chars().filter_map(digit_prompt))
}

/// The demo's state: which keys were read back.
#[derive(Debug, Default)]
pub struct Demo {
    digits: String,
}

impl Demo {
    pub fn on_answered(&mut self) -> DemoAction {
        DemoAction::Play(vec!["welcome".to_string()])
    }

    pub fn on_key(&mut self, key: char) -> Option<DemoAction> {
        let prompt = digit_prompt(key)?;
        self.digits.push(key);
        Some(DemoAction::Play(vec![prompt.to_string()]))
    }

    /// Every key read back so far, in order.
    pub fn digits(&self) -> &str {
        &self.digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welcomes_then_reads_back_keys() {
        let mut demo = Demo::default();
        assert_eq!(demo.on_answered(), DemoAction::Play(vec!["welcome".into()]));
        assert_eq!(
            demo.on_key('4'),
            Some(DemoAction::Play(vec!["four".into()]))
        );
        assert_eq!(
            demo.on_key('#'),
            Some(DemoAction::Play(vec!["hash".into()]))
        );
        assert_eq!(demo.on_key('A'), None, "RFC 4733 A-D have no prompt");
        assert_eq!(demo.digits(), "4#");
    }

    #[test]
    fn required_prompts_cover_every_key() {
        let all: Vec<_> = required_prompts().collect();
        assert_eq!(all.len(), 13);
        assert!(all.contains(&"welcome") && all.contains(&"hash") && all.contains(&"zero"));
    }
}
