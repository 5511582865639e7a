//! Verifying hashes imported from Keystone.
//!
//! Keystone (through passlib) writes bcrypt by default and can write scrypt,
//! pbkdf2_sha512 and sha512_crypt. Each is verified here in constant time;
//! none is ever written (new hashes are argon2id).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::Sha512;
use subtle::ConstantTimeEq;

/// Whether `secret` matches the imported `hash`. Unknown formats and
/// malformed hashes do not match.
pub(super) fn verify(secret: &[u8], hash: &str) -> bool {
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        bcrypt::verify(secret, hash).unwrap_or(false)
    } else if let Some(rest) = hash.strip_prefix("$pbkdf2-sha512$") {
        pbkdf2_sha512(secret, rest).unwrap_or(false)
    } else if let Some(rest) = hash.strip_prefix("$scrypt$") {
        scrypt(secret, rest).unwrap_or(false)
    } else if hash.starts_with("$6$") {
        std::str::from_utf8(secret).is_ok_and(|s| sha_crypt::sha512_check(s, hash).is_ok())
    } else {
        false
    }
}

/// passlib's `$pbkdf2-sha512$<rounds>$<salt>$<checksum>`, salt and checksum
/// in passlib's "ab64" (base64 with `.` for `+`, unpadded).
fn pbkdf2_sha512(secret: &[u8], rest: &str) -> Option<bool> {
    let mut parts = rest.split('$');
    let rounds: u32 = parts.next()?.parse().ok()?;
    let salt = ab64(parts.next()?)?;
    let expected = ab64(parts.next()?)?;
    if parts.next().is_some() || expected.len() != 64 || rounds == 0 {
        return None;
    }
    let mut actual = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(secret, &salt, rounds, &mut actual);
    Some(bool::from(actual.ct_eq(expected.as_slice())))
}

/// passlib's `$scrypt$ln=<log2 n>,r=<r>,p=<p>$<salt>$<checksum>`, base64
/// unpadded.
fn scrypt(secret: &[u8], rest: &str) -> Option<bool> {
    let mut parts = rest.split('$');
    let (mut ln, mut r, mut p) = (None, None, None);
    for setting in parts.next()?.split(',') {
        let (key, value) = setting.split_once('=')?;
        let value: u32 = value.parse().ok()?;
        match key {
            "ln" => ln = Some(u8::try_from(value).ok()?),
            "r" => r = Some(value),
            "p" => p = Some(value),
            _ => return None,
        }
    }
    let salt = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
    let expected = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
    if parts.next().is_some() || expected.is_empty() {
        return None;
    }
    let params = scrypt::Params::new(ln?, r?, p?, expected.len()).ok()?;
    let mut actual = vec![0u8; expected.len()];
    scrypt::scrypt(secret, &salt, &params, &mut actual).ok()?;
    Some(bool::from(actual.ct_eq(expected.as_slice())))
}

fn ab64(text: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD.decode(text.replace('.', "+")).ok()
}

#[cfg(test)]
mod tests {
    use super::verify;

    /// Made with passlib 1.7 (and the bcrypt module) for "correct horse".
    const VECTORS: &[&str] = &[
        "$2b$04$Pity8eEst1Pd15ti8kvneunu4/LoFm4KVMYJB5zVPJnJZAwdWAQMG",
        "$pbkdf2-sha512$1000$ktL6X4sxZowxhrDWupcSAg$yaOZyk92WSLqU59UoU4ocQsdHDvDB/awn4Hcbid.XP4KX8T9yimvdeLr45KHvfWUT0qYhpk.WL0wXK83ZicWuw",
        "$scrypt$ln=4,r=8,p=1$+n+vtZby/v/fW4uRUopxrg$b4py4SteD3ngLqUkvODNudq6ngZjSDEM3VBgjS9NDzk",
        "$6$Kv1fHR5RHRCQYrzT$AxDP8mjtt69iYXFA/v02XiUJmWGo3vsw7y8FTCdAtB2lYOEcwbDdAp1D7U/riCZHqS5Mk63kCt6yZ79WvnixF.",
    ];

    #[test]
    fn keystone_hashes_verify_the_right_password_only() {
        for hash in VECTORS {
            assert!(verify(b"correct horse", hash), "{hash}");
            assert!(!verify(b"correct horsf", hash), "{hash}");
            assert!(!verify(b"", hash), "{hash}");
        }
    }

    #[test]
    fn malformed_imported_hashes_do_not_verify() {
        for hash in [
            "$pbkdf2-sha512$0$ktL6X4sxZowxhrDWupcSAg$yaOZ",
            "$pbkdf2-sha512$abc$x$y",
            "$scrypt$ln=99,r=8,p=1$AAAA$AAAA",
            "$scrypt$n=4$AAAA$AAAA",
            "$2b$04$",
        ] {
            assert!(!verify(b"correct horse", hash), "{hash}");
        }
    }
}
