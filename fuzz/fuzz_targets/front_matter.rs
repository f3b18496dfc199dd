//! Arbitrary text as front matter: whenever the quick reader of parser events accepts it, it
//! reads exactly what serde-saphyr reads (`parse_yaml` trusts it to).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::posts::front_matter::{parse_yaml_with_serde, read_events};

fuzz_target!(|data: &[u8]| {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(quick) = read_events(yaml) {
        assert_eq!(Ok(quick), parse_yaml_with_serde(yaml), "{yaml:?}");
    }
});
