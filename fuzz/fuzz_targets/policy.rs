//! Policy file text -> Policy: any input parses or is refused with an error naming a line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = meshsmith_core::policy::parse("meshsmith.yaml", text) {
        assert!(e.to_string().starts_with("meshsmith.yaml:"), "{e}");
    }
});
