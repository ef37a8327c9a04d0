//! Who may do what. Ingest tokens may only post batches; the read token may only read (the
//! read API, the live stream and the map). Neither works for the other.
//!
//! Browsers cannot put a bearer token on `EventSource` or on a page they navigate to, so the
//! map is opened once as `/map?access_token=<read token>`: the collector answers with a
//! session cookie (random, HttpOnly, SameSite=Strict, valid for [`SESSION_TTL`]) and
//! redirects to `/map`, which removes the token from the address bar. Every later request of
//! the page, `EventSource` included, carries the cookie. `docs/read-api.md` lists the risks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};

/// How long a map session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Sessions kept at once; the oldest goes when a new one would exceed it.
const MAX_SESSIONS: usize = 1024;
pub const SESSION_COOKIE: &str = "tracelet_read";

pub struct Auth {
    ingest: Vec<String>,
    read: String,
    sessions: Mutex<HashMap<String, Instant>>,
}

impl Auth {
    pub fn new(ingest: Vec<String>, read: String) -> Auth {
        Auth {
            ingest,
            read,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn read_token(&self) -> &str {
        &self.read
    }

    /// The request carries one of the ingest tokens.
    pub fn may_ingest(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|t| self.ingest.iter().any(|known| same(known, t)))
    }

    /// The request carries the read token, or the cookie of a live map session.
    pub fn may_read(&self, headers: &HeaderMap) -> bool {
        if bearer(headers).is_some_and(|t| same(&self.read, t)) {
            return true;
        }
        let Some(session) = cookie(headers, SESSION_COOKIE) else {
            return false;
        };
        let mut sessions = crate::lock(&self.sessions);
        match sessions.get(session) {
            Some(expires) if *expires > Instant::now() => true,
            Some(_) => {
                sessions.remove(session);
                false
            }
            None => false,
        }
    }

    pub fn is_read_token(&self, token: &str) -> bool {
        same(&self.read, token)
    }

    /// Opens a map session; returns the cookie's value.
    pub fn open_session(&self) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = crate::lock(&self.sessions);
        sessions.retain(|_, expires| *expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(id, _)| id.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), now + SESSION_TTL);
        id
    }
}

/// 128 random bits as 32 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    // The OS's generator does not fail on the systems the collector runs on; if it ever did,
    // refusing to start a session is better than a guessable one.
    getrandom::fill(&mut bytes).expect("the operating system's random generator works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Compares in time independent of where the two differ, so that timing does not reveal
/// how much of a guess was right.
fn same(known: &str, given: &str) -> bool {
    let (a, b) = (known.as_bytes(), given.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn tokens_are_kept_apart() {
        let auth = Auth::new(vec!["ingest".into()], "read".into());
        assert!(auth.may_ingest(&with(header::AUTHORIZATION, "Bearer ingest")));
        assert!(!auth.may_ingest(&with(header::AUTHORIZATION, "Bearer read")));
        assert!(auth.may_read(&with(header::AUTHORIZATION, "Bearer read")));
        assert!(!auth.may_read(&with(header::AUTHORIZATION, "Bearer ingest")));
        assert!(!auth.may_read(&with(header::AUTHORIZATION, "Bearer rea")));
        assert!(!auth.may_read(&with(header::AUTHORIZATION, "Bearer readx")));
        assert!(!auth.may_read(&HeaderMap::new()));
    }

    #[test]
    fn a_session_cookie_reads_and_an_unknown_one_does_not() {
        let auth = Auth::new(vec!["ingest".into()], "read".into());
        let session = auth.open_session();
        assert_eq!(session.len(), 32);
        let cookie = format!("other=1; {SESSION_COOKIE}={session}");
        assert!(auth.may_read(&with(header::COOKIE, &cookie)));
        assert!(!auth.may_read(&with(header::COOKIE, &format!("{SESSION_COOKIE}=00"))));
        assert!(!auth.may_ingest(&with(header::COOKIE, &cookie)));
    }
}
