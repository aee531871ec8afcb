//! The session cookie: read from a request's `Cookie` headers, written with the
//! attributes that keep it out of scripts and cross-site requests.

use axum::http::{HeaderMap, header};

pub const SESSION_COOKIE: &str = "hotline_session";

/// The session token a request carries, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// `Set-Cookie` for a new session lasting `max_age_secs`.
pub fn set_session(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_garbage_is_not() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            "a=1; hotline_session=abc123 ; b=2".parse().unwrap(),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("abc123"));
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "hotline_session=; x".parse().unwrap());
        assert_eq!(session_token(&headers), None);
        let long = format!("hotline_session={}", "a".repeat(200));
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, long.parse().unwrap());
        assert_eq!(
            session_token(&headers),
            None,
            "oversized tokens are not looked up"
        );
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let cookie = set_session("t", 60, false);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        assert!(set_session("t", 60, true).ends_with("; Secure"));
    }
}
