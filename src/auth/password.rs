//! Password hashing (argon2id, the crate's recommended parameters: 19 MiB, 2 passes, 1 lane)
//! and the password policy.
//!
//! Each hash fills 19 MiB of memory. Hashes run on a [`ScratchPool`] of reusable buffers: at
//! most [`concurrency`] at once (one per CPU core, at least 2, unless [`set_concurrency`] says
//! otherwise), the others waiting in arrival order, so a rush of logins holds at most that many
//! buffers, allocated once, instead of one freshly allocated buffer per login that the allocator
//! then keeps (issue 10: 256 logins from 64 clients had left 1.45 GB resident).

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::scratch::{ScratchPool, ScratchStats};
use crate::error::FieldError;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// Most memory (KiB) and passes a stored hash may ask for. Ours use 19,456 KiB and 2 passes; a
/// stored hash asking for more than this was not written by us, and verifying it would hold a
/// slot (and memory) far longer than a login should, so it never matches.
const MAX_M_COST_KIB: u32 = 64 * 1024;
const MAX_T_COST: u32 = 10;

fn buffers() -> &'static ScratchPool<Vec<Block>> {
    static BUFFERS: OnceLock<ScratchPool<Vec<Block>>> = OnceLock::new();
    BUFFERS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ScratchPool::new(cores.max(2), || {
            vec![Block::new(); Params::DEFAULT.block_count()]
        })
    })
}

/// Sets how many password hashes may run at once (at least 1); each holds a 19 MiB buffer, kept
/// for reuse. Default: one per CPU core, at least 2.
pub fn set_concurrency(hashes: usize) {
    buffers().set_limit(hashes);
}

/// How many password hashes may run at once.
pub fn concurrency() -> usize {
    buffers().stats().limit
}

/// The hash buffers' counters: hashes running and waiting, buffers alive.
pub fn buffer_stats() -> ScratchStats {
    buffers().stats()
}

/// Runs Argon2 into `out` with a pooled buffer, waiting for a free one first.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut buffer = buffers().acquire();
    if buffer.len() >= needed {
        // A longer buffer is fine: Argon2 uses the first `needed` blocks and writes each block
        // before reading it, so what an earlier hash left there never matters.
        argon2.hash_password_into_with_memory(password, salt, out, &mut buffer[..])
    } else {
        // Larger than our own hashes (bounded by MAX_M_COST_KIB); still one per slot.
        let mut larger = vec![Block::new(); needed];
        argon2.hash_password_into_with_memory(password, salt, out, &mut larger[..])
    }
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`). Waits for a
/// free hash buffer (see the module docs).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let params = Params::DEFAULT;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password.as_bytes(),
        salt_bytes,
        &mut out,
    )?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    }
    .to_string())
}

/// Whether `password` matches a stored hash (any Argon2 variant and version, the parameters
/// the hash names), compared in constant time. A malformed hash, or one asking for more than
/// 64 MiB or 10 passes, never matches. Waits for a free hash buffer (see the module docs).
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB || params.t_cost() > MAX_T_COST {
        tracing::warn!(
            m_cost = params.m_cost(),
            t_cost = params.t_cost(),
            "a stored password hash asks for more memory or passes than allowed; it never matches"
        );
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    if compute(algorithm, version, params, password.as_bytes(), salt, out).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| computed == expected)
}

/// Spends the time of one verification, so that an unknown username takes as long as a wrong
/// password.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default());
    let _ = verify(password, stored);
}

const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "0123456789",
    "1111111111",
    "khongdee123",
    "admin12345",
    "iloveyou12",
    "abcdefghij",
    "qwerty1234",
];

/// Checks a new password: length, not a common one, not the username, not one repeated character.
pub fn check_policy(field: &str, password: &str, username: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    let weak = || FieldError::new(field, "weak_password").with("min", MIN_LENGTH);
    if len > MAX_LENGTH {
        return Err(FieldError::new(field, "too_long").with("max", MAX_LENGTH));
    }
    if len < MIN_LENGTH {
        return Err(weak());
    }
    let lower = password.to_lowercase();
    let mut chars = password.chars();
    let first = chars.next();
    if COMMON.contains(&lower.as_str())
        || (!username.is_empty() && lower.contains(&username.to_lowercase()))
        || chars.all(|c| Some(c) == first)
    {
        return Err(weak());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn agrees_with_the_argon2_crate() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let ours = hash("ลำไยหวานมากปีนี้").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password("ลำไยหวานมากปีนี้".as_bytes(), &parsed)
                .is_ok()
        );
        assert!(ours.contains("$m=19456,t=2,p=1$"));
        // Hashes written with other parameters and variants (smaller than our buffers, or larger)
        // are verified with the parameters they name.
        let salt = SaltString::generate(&mut OsRng);
        for (algorithm, m, t, p) in [
            (Algorithm::Argon2id, 8, 1, 1),
            (Algorithm::Argon2i, 4096, 3, 2),
            (Algorithm::Argon2d, 1024, 1, 1),
            (Algorithm::Argon2id, 24 * 1024, 1, 1),
        ] {
            let params = Params::new(m, t, p, None).unwrap();
            let theirs = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"mangosteen-2569", &salt)
                .unwrap()
                .to_string();
            assert!(verify("mangosteen-2569", &theirs), "{theirs}");
            assert!(!verify("mangosteen-2568", &theirs), "{theirs}");
        }
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x10,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"durian-2569", &salt)
        .unwrap()
        .to_string();
        assert!(verify("durian-2569", &old));
        assert!(!verify("durian-2568", &old));
    }

    #[test]
    fn malformed_or_oversized_hashes_never_match() {
        let good = hash("rambutan-2569").unwrap();
        let (head, tail) = good.rsplit_once('$').unwrap();
        assert!(!verify("rambutan-2569", head), "no output");
        assert!(
            !verify("rambutan-2569", &format!("{head}${}", &tail[1..])),
            "short output"
        );
        assert!(!verify(
            "rambutan-2569",
            &good.replace("argon2id", "argon2x")
        ));
        assert!(!verify("rambutan-2569", &good.replace("v=19", "v=18")));
        assert!(!verify("rambutan-2569", &good.replace("m=19456", "m=1")));
        assert!(!verify(
            "rambutan-2569",
            &good.replace("m=19456", "m=4194304")
        ));
        assert!(!verify("rambutan-2569", &good.replace("t=2", "t=1000")));
        assert!(!verify("rambutan-2569", ""));
        // The same hash with its parameters untouched still matches.
        assert!(verify("rambutan-2569", &good));
    }

    #[test]
    fn many_threads_at_once_get_their_own_results_within_the_bound() {
        let limit = concurrency();
        let threads: Vec<_> = (0..12)
            .map(|i| {
                std::thread::spawn(move || {
                    let mine = format!("password-of-thread-{i}");
                    let stored = hash(&mine).unwrap();
                    (mine, stored)
                })
            })
            .collect();
        let accounts: Vec<(String, String)> =
            threads.into_iter().map(|t| t.join().unwrap()).collect();
        let accounts = std::sync::Arc::new(accounts);
        // Every thread checks its own password (must match) and its neighbour's (must not),
        // all at once: a buffer shared between two hashes would break one of the two.
        let checks: Vec<_> = (0..accounts.len())
            .map(|i| {
                let accounts = accounts.clone();
                std::thread::spawn(move || {
                    let (mine, stored) = &accounts[i];
                    let (theirs, _) = &accounts[(i + 1) % accounts.len()];
                    let own = verify(mine, stored);
                    let other = verify(theirs, stored);
                    verify_dummy(mine);
                    (own, other)
                })
            })
            .collect();
        for (i, check) in checks.into_iter().enumerate() {
            assert_eq!(check.join().unwrap(), (true, false), "thread {i}");
        }
        let stats = buffer_stats();
        assert!(stats.peak_in_use <= limit, "{stats:?}");
        assert!(stats.peak_values <= limit, "{stats:?}");
        assert!(stats.made <= limit as u64, "buffers are reused: {stats:?}");
        assert!(
            stats.waited > 0,
            "12 threads on {limit} slots must queue: {stats:?}"
        );
    }

    #[test]
    fn enforces_the_policy() {
        assert!(check_policy("password", "short", "somchai").is_err());
        assert!(check_policy("password", "password123", "somchai").is_err());
        assert!(check_policy("password", "somchai-2026!", "somchai").is_err());
        assert!(check_policy("password", "aaaaaaaaaaaa", "x").is_err());
        assert!(check_policy("password", "ลำไยหวานมากปีนี้", "somchai").is_ok());
        assert!(check_policy("password", &"x1".repeat(80), "u").is_err());
    }
}
