//! The digests SQS answers with, computed as AWS does (SDKs recompute and compare them):
//! MD5 of the body's UTF-8 bytes, and MD5 over message attributes encoded in name order
//! as length-prefixed name, data type, a transport byte (1 string, 2 binary) and the
//! length-prefixed value. Content-based deduplication ids are SHA-256 of the body.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use sha2::Sha256;

use baton_platform::bridge::queues::MessageAttribute;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn md5_of_body(body: &str) -> String {
    hex(&Md5::digest(body.as_bytes()))
}

/// `None` for no attributes (AWS then leaves the field out).
pub fn md5_of_attributes(attributes: &BTreeMap<String, MessageAttribute>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    fn put(md5: &mut Md5, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        md5.update(len.to_be_bytes());
        md5.update(bytes);
    }
    let mut md5 = Md5::new();
    for (name, value) in attributes {
        put(&mut md5, name.as_bytes());
        put(&mut md5, value.data_type.as_bytes());
        match (&value.binary_value, &value.string_value) {
            (Some(binary), _) => {
                md5.update([2u8]);
                put(&mut md5, binary);
            }
            (None, string) => {
                md5.update([1u8]);
                put(&mut md5, string.as_deref().unwrap_or("").as_bytes());
            }
        }
    }
    Some(hex(&md5.finalize()))
}

pub fn sha256_of_body(body: &str) -> String {
    hex(&Sha256::digest(body.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_digest_is_md5_hex() {
        assert_eq!(md5_of_body("hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(
            sha256_of_body("hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn attribute_digest_encodes_name_type_transport_and_value() {
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "a".to_owned(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("b".into()),
                binary_value: None,
            },
        );
        // 00000001 'a' 00000006 'String' 01 00000001 'b'
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        bytes.extend_from_slice(b"String");
        bytes.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        assert_eq!(md5_of_attributes(&attrs), Some(hex(&Md5::digest(&bytes))));
        assert_eq!(md5_of_attributes(&BTreeMap::new()), None);
    }
}
