//! Form bodies and query strings (`http::shared::Params`, RFC 6749 §3.1): strict decoding and
//! the repeated-parameter rule every endpoint relies on.
#![no_main]

use centralauth_provider::http::shared::{ParamError, Params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    let pairs = params.raw_pairs().to_vec();
    for (name, value) in &pairs {
        // No replacement character slips through: it would mean lossy decoding was accepted.
        assert!(!name.contains('\u{FFFD}') && !value.contains('\u{FFFD}'));
        let count = pairs.iter().filter(|(n, _)| n == name).count();
        match params.get(name) {
            Err(ParamError::Repeated(n)) => assert!(count > 1 && &n == name),
            Err(other) => panic!("get failed with {other:?}"),
            Ok(found) => {
                assert_eq!(count, 1, "a repeated {name:?} was not reported");
                // An empty value counts as absent; otherwise exactly the sent value.
                assert_eq!(found, Some(value.as_str()).filter(|v| !v.is_empty()));
            }
        }
    }
    // Round trip: what we decoded, encoded again, decodes to the same pairs.
    let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let again = Params::parse(encoded.as_bytes()).expect("re-encoded parameters decode");
    assert_eq!(again.raw_pairs(), &pairs[..]);
    // A name that was never sent is absent, not an error.
    if !pairs.iter().any(|(n, _)| n == "never-sent") {
        assert_eq!(params.get("never-sent"), Ok(None));
    }
});
