//! DSSE envelopes (Dead Simple Signing Envelope v1) and the key-based Sigstore bundle v0.3 that
//! carries one, and reading either with every mistake named.
//!
//! A signature covers the pre-authentication encoding [`pae`] of the payload type and the
//! payload, never the JSON around them: `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP
//! payload`, each LEN the byte length in ASCII decimal. Envelopes are written with standard
//! base64 (padded); both standard and URL-safe base64, padded or not, are read, as the DSSE spec
//! asks. A bundle's `verificationMaterial` is a `publicKey` hint (the key id): the key itself is
//! delivered out of band, from the server's key set.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The media type of a Sigstore bundle v0.3 (JSON).
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The older bundle media types, whose DSSE content is read the same way.
const OLDER_BUNDLE_MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
];

/// The bytes a DSSE signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// How to read the payload: [`PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload, base64.
    pub payload: String,
    /// The signatures over [`pae`] of the type and the decoded payload.
    pub signatures: Vec<Signature>,
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Which key signed (a hint, not authenticated): the key's id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// The signature, base64.
    pub sig: String,
}

impl Envelope {
    /// An envelope of `payload` signed with `key`, named `keyid`.
    pub(crate) fn sign(payload_type: &str, payload: &[u8], key: &ed25519_dalek::SigningKey, keyid: &str) -> Self {
        let signature = key.sign(&pae(payload_type, payload));
        Self {
            payload_type: payload_type.to_owned(),
            payload: STANDARD.encode(payload),
            signatures: vec![Signature { keyid: keyid.to_owned(), sig: STANDARD.encode(signature.to_bytes()) }],
        }
    }

    /// The decoded payload.
    ///
    /// # Errors
    ///
    /// When it is not base64.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, AttestationError> {
        decode_base64(&self.payload).ok_or(AttestationError::BadBase64 { field: "payload".into() })
    }

    /// The envelope as one line of JSON and a newline: the content of a `.intoto.jsonl` file.
    pub fn to_json_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }

    /// A key-based Sigstore bundle v0.3 of this envelope, its key named by the first
    /// signature's key id.
    pub fn to_bundle(&self) -> Bundle {
        Bundle {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: self.signatures.first().map(|signature| signature.keyid.clone()).unwrap_or_default(),
                }),
            },
            dsse_envelope: self.clone(),
        }
    }
}

/// A Sigstore bundle carrying a DSSE envelope, with a public key hint as its verification
/// material and no transparency log entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`BUNDLE_MEDIA_TYPE`].
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// The key's hint.
    #[serde(rename = "verificationMaterial")]
    pub verification_material: VerificationMaterial,
    /// The envelope.
    #[serde(rename = "dsseEnvelope")]
    pub dsse_envelope: Envelope,
}

/// A bundle's verification material (only the key-based form is written).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationMaterial {
    /// The key's identifier.
    #[serde(rename = "publicKey", default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
}

/// Sigstore's `PublicKeyIdentifier`: a hint agreed between signer and verifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    /// The key id.
    pub hint: String,
}

impl Bundle {
    /// The bundle as pretty JSON and a newline: the content of a `.sigstore.json` file.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// What `slipway verify` reads: a bare envelope or a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attestation {
    /// A bare DSSE envelope (`.intoto.jsonl`, `.dsse.json`).
    Envelope(Envelope),
    /// A Sigstore bundle (`.sigstore.json`).
    Bundle(Bundle),
}

impl Attestation {
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        match self {
            Self::Envelope(envelope) => envelope,
            Self::Bundle(bundle) => &bundle.dsse_envelope,
        }
    }

    /// The bundle's key hint, if it is a bundle with one.
    pub fn key_hint(&self) -> Option<&str> {
        match self {
            Self::Envelope(_) => None,
            Self::Bundle(bundle) => bundle
                .verification_material
                .public_key
                .as_ref()
                .map(|key| key.hint.as_str())
                .filter(|hint| !hint.is_empty()),
        }
    }
}

/// Why an attestation cannot be read (bad input, not a failed verification).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttestationError {
    /// Not JSON.
    #[error("not JSON at line {line}, column {column}: {message}")]
    NotJson {
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What serde_json says.
        message: String,
    },
    /// A JSON lines file with more than one envelope.
    #[error("holds {0} envelopes (lines); give a file with one")]
    SeveralEnvelopes(usize),
    /// JSON, but neither an envelope nor a bundle.
    #[error(
        "neither a DSSE envelope (payloadType, payload, signatures) nor a Sigstore bundle (mediaType, verificationMaterial, dsseEnvelope): {0}"
    )]
    Unrecognised(String),
    /// A field missing or of the wrong type.
    #[error("malformed {what}: {message}")]
    Malformed {
        /// The envelope or the bundle.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A payload type other than in-toto's.
    #[error("payloadType is {0:?}, not {PAYLOAD_TYPE:?}: this is not an in-toto attestation")]
    WrongPayloadType(String),
    /// An envelope without signatures.
    #[error("the envelope has no signatures")]
    NoSignatures,
    /// Base64 that is not.
    #[error("{field} is not base64")]
    BadBase64 {
        /// Which field.
        field: String,
    },
    /// A signature that cannot be an Ed25519 signature.
    #[error("signatures[{index}].sig is {length} bytes; an Ed25519 signature is 64")]
    BadSignatureLength {
        /// Which signature.
        index: usize,
        /// Its length.
        length: usize,
    },
    /// A bundle of a kind Slipway does not read.
    #[error("{0}")]
    UnsupportedBundle(String),
    /// The signed payload is not a statement Slipway reads.
    #[error("the signed statement {0}")]
    BadStatement(String),
}

/// Reads a bare DSSE envelope or a Sigstore bundle.
///
/// # Errors
///
/// When the bytes are not JSON, not one of the two, or a field is missing, of the wrong type,
/// or not base64 ([`AttestationError`]).
pub fn parse_attestation(bytes: &[u8]) -> Result<Attestation, AttestationError> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(error) => {
            let lines = String::from_utf8_lossy(bytes)
                .lines()
                .filter(|line| serde_json::from_str::<Value>(line).is_ok())
                .count();
            if lines > 1 && error.to_string().starts_with("trailing characters") {
                return Err(AttestationError::SeveralEnvelopes(lines));
            }
            return Err(not_json(&error));
        }
    };
    let Value::Object(object) = &value else {
        return Err(AttestationError::Unrecognised(format!("the JSON is {}", kind(&value))));
    };
    if let Some(media_type) = object.get("mediaType") {
        return parse_bundle(object, media_type).map(Attestation::Bundle);
    }
    if ["payloadType", "payload", "signatures"].iter().any(|field| object.contains_key(*field)) {
        return parse_envelope(&value, "DSSE envelope").map(Attestation::Envelope);
    }
    let fields: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
    Err(AttestationError::Unrecognised(format!("its fields are {}", fields.join(", "))))
}

/// Reads a bundle's content.
fn parse_bundle(object: &serde_json::Map<String, Value>, media_type: &Value) -> Result<Bundle, AttestationError> {
    let malformed = |message: String| AttestationError::Malformed { what: "Sigstore bundle", message };
    let media_type =
        media_type.as_str().ok_or_else(|| malformed(format!("mediaType is {}, not a string", kind(media_type))))?;
    if media_type != BUNDLE_MEDIA_TYPE && !OLDER_BUNDLE_MEDIA_TYPES.contains(&media_type) {
        return Err(AttestationError::UnsupportedBundle(format!(
            "mediaType {media_type:?} is not a Sigstore bundle Slipway reads ({BUNDLE_MEDIA_TYPE})"
        )));
    }
    let material = object
        .get("verificationMaterial")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("verificationMaterial is missing or not an object".into()))?;
    if material.contains_key("certificate") || material.contains_key("x509CertificateChain") {
        return Err(AttestationError::UnsupportedBundle(
            "the bundle is signed with a certificate (keyless Sigstore signing); slipway verify checks key-based bundles with the server's keys".into(),
        ));
    }
    let hint = match material.get("publicKey") {
        None => None,
        Some(Value::Object(key)) => match key.get("hint") {
            None => None,
            Some(Value::String(hint)) => Some(hint.clone()),
            Some(other) => {
                return Err(malformed(format!("verificationMaterial.publicKey.hint is {}, not a string", kind(other))));
            }
        },
        Some(other) => {
            return Err(malformed(format!("verificationMaterial.publicKey is {}, not an object", kind(other))));
        }
    };
    if object.contains_key("messageSignature") {
        return Err(AttestationError::UnsupportedBundle(
            "the bundle holds a message signature, not a DSSE envelope with a statement".into(),
        ));
    }
    let envelope = object.get("dsseEnvelope").ok_or_else(|| malformed("dsseEnvelope is missing".into()))?;
    Ok(Bundle {
        media_type: media_type.to_owned(),
        verification_material: VerificationMaterial { public_key: hint.map(|hint| PublicKeyIdentifier { hint }) },
        dsse_envelope: parse_envelope(envelope, "dsseEnvelope")?,
    })
}

/// Reads an envelope, checking each field.
fn parse_envelope(value: &Value, what: &'static str) -> Result<Envelope, AttestationError> {
    let malformed = |message: String| AttestationError::Malformed { what, message };
    let object = value.as_object().ok_or_else(|| malformed(format!("it is {}, not an object", kind(value))))?;
    let text = |field: &str| -> Result<String, AttestationError> {
        match object.get(field) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(other) => Err(malformed(format!("{field} is {}, not a string", kind(other)))),
            None => Err(malformed(format!("{field} is missing"))),
        }
    };
    let payload_type = text("payloadType")?;
    let payload = text("payload")?;
    let signatures = match object.get("signatures") {
        Some(Value::Array(signatures)) => signatures,
        Some(other) => return Err(malformed(format!("signatures is {}, not an array", kind(other)))),
        None => return Err(malformed("signatures is missing".into())),
    };
    if payload_type != PAYLOAD_TYPE {
        return Err(AttestationError::WrongPayloadType(payload_type));
    }
    if decode_base64(&payload).is_none() {
        return Err(AttestationError::BadBase64 { field: "payload".into() });
    }
    if signatures.is_empty() {
        return Err(AttestationError::NoSignatures);
    }
    let mut parsed = Vec::with_capacity(signatures.len());
    for (index, signature) in signatures.iter().enumerate() {
        let fields = signature
            .as_object()
            .ok_or_else(|| malformed(format!("signatures[{index}] is {}, not an object", kind(signature))))?;
        let sig = match fields.get("sig") {
            Some(Value::String(sig)) => sig.clone(),
            Some(other) => return Err(malformed(format!("signatures[{index}].sig is {}, not a string", kind(other)))),
            None => return Err(malformed(format!("signatures[{index}].sig is missing"))),
        };
        let keyid = match fields.get("keyid") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(keyid)) => keyid.clone(),
            Some(other) => {
                return Err(malformed(format!("signatures[{index}].keyid is {}, not a string", kind(other))));
            }
        };
        let bytes = decode_base64(&sig)
            .ok_or_else(|| AttestationError::BadBase64 { field: format!("signatures[{index}].sig") })?;
        if bytes.len() != ed25519_dalek::SIGNATURE_LENGTH {
            return Err(AttestationError::BadSignatureLength { index, length: bytes.len() });
        }
        parsed.push(Signature { keyid, sig });
    }
    Ok(Envelope { payload_type, payload, signatures: parsed })
}

/// Standard or URL-safe base64, padded or not.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(text.trim()).ok())
}

/// A serde_json error as "not JSON at line:column".
pub(crate) fn not_json(error: &serde_json::Error) -> AttestationError {
    let message = error.to_string();
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(message, _)| message).to_owned();
    AttestationError::NotJson { line: error.line(), column: error.column(), message }
}

/// What a JSON value is, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DSSE spec's test vector (protocol.md, "Test Vectors").
    #[test]
    fn pae_is_the_specs() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[7; 32])
    }

    #[test]
    fn an_envelope_and_a_bundle_read_back() {
        let envelope = Envelope::sign(PAYLOAD_TYPE, b"{\"a\":1}", &key(), "abc");
        let line = envelope.to_json_line();
        assert_eq!(line.lines().count(), 1);
        assert_eq!(parse_attestation(line.as_bytes()), Ok(Attestation::Envelope(envelope.clone())));
        let bundle = envelope.to_bundle();
        let json: Value = serde_json::from_str(&bundle.to_json()).unwrap_or_default();
        assert_eq!(json["mediaType"], BUNDLE_MEDIA_TYPE);
        assert_eq!(json["verificationMaterial"]["publicKey"]["hint"], "abc");
        assert_eq!(json["dsseEnvelope"]["payloadType"], PAYLOAD_TYPE);
        let parsed = parse_attestation(bundle.to_json().as_bytes()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(parsed.key_hint(), Some("abc"));
        assert_eq!(parsed.envelope(), &envelope);
        assert_eq!(envelope.payload_bytes(), Ok(b"{\"a\":1}".to_vec()));
    }

    #[test]
    fn malformed_attestations_are_named() {
        let error =
            |text: &str| parse_attestation(text.as_bytes()).err().map(|error| error.to_string()).unwrap_or_default();
        assert_eq!(error("{\n  \"payloadType\": }"), "not JSON at line 2, column 18: expected value");
        assert_eq!(
            error("[1]"),
            "neither a DSSE envelope (payloadType, payload, signatures) nor a Sigstore bundle (mediaType, verificationMaterial, dsseEnvelope): the JSON is an array"
        );
        let good = Envelope::sign(PAYLOAD_TYPE, b"{}", &key(), "abc");
        let with = |change: &dyn Fn(&mut Value)| {
            let mut value = serde_json::to_value(&good).unwrap_or_default();
            change(&mut value);
            error(&value.to_string())
        };
        assert_eq!(with(&|value| value["signatures"] = Value::Array(vec![])), "the envelope has no signatures");
        assert_eq!(
            with(&|value| value["payloadType"] = "text/plain".into()),
            "payloadType is \"text/plain\", not \"application/vnd.in-toto+json\": this is not an in-toto attestation"
        );
        assert_eq!(with(&|value| value["payload"] = "%%%".into()), "payload is not base64");
        assert_eq!(with(&|value| value["signatures"][0]["sig"] = "!!".into()), "signatures[0].sig is not base64");
        assert_eq!(
            with(&|value| value["signatures"][0]["sig"] = "AAAA".into()),
            "signatures[0].sig is 3 bytes; an Ed25519 signature is 64"
        );
        assert_eq!(
            with(&|value| value["payload"] = 3.into()),
            "malformed DSSE envelope: payload is a number, not a string"
        );
        assert_eq!(
            with(&|value| {
                value.as_object_mut().map(|object| object.remove("signatures"));
            }),
            "malformed DSSE envelope: signatures is missing"
        );
        let two = format!("{}{}", good.to_json_line(), good.to_json_line());
        assert_eq!(error(&two), "holds 2 envelopes (lines); give a file with one");
        let keyless = serde_json::json!({"mediaType": BUNDLE_MEDIA_TYPE, "verificationMaterial": {"certificate": {"rawBytes": "AA=="}}, "dsseEnvelope": good});
        assert!(error(&keyless.to_string()).contains("keyless"));
        // URL-safe base64 without padding is read too.
        let mut url_safe = good.clone();
        url_safe.payload = URL_SAFE_NO_PAD.encode(b"{}");
        assert!(parse_attestation(url_safe.to_json_line().as_bytes()).is_ok());
    }
}
