//! The headers every response carries, pages and API alike.
//!
//! One middleware, so no route can forget them: a Content-Security-Policy
//! under which the portals work (scripts only from this origin — the pages
//! have no inline script; inline `style` attributes are allowed; QR images
//! may be `data:`; the scanner's camera stream is a `blob:`), framing
//! refused (`frame-ancestors 'none'` and `X-Frame-Options: DENY`),
//! `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`. With
//! `--secure-cookies` (the service is behind HTTPS) it adds HSTS and marks
//! every cookie any handler sets `Secure`.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy the portals are tested under (docs/portals.md).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// One year, the usual HSTS lifetime.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Adds the headers; `secure` is the service's `--secure-cookies`.
pub async fn add(secure: bool, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    apply(response.headers_mut(), secure);
    response
}

fn apply(headers: &mut HeaderMap, secure: bool) {
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !secure {
        return;
    }
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
    );
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(secure_cookie)
        .collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
}

/// The cookie with the `Secure` attribute (added once).
fn secure_cookie(cookie: &HeaderValue) -> HeaderValue {
    let Ok(text) = cookie.to_str() else {
        return cookie.clone();
    };
    let has_secure = text
        .split(';')
        .skip(1)
        .any(|attribute| attribute.trim().eq_ignore_ascii_case("secure"));
    if has_secure {
        return cookie.clone();
    }
    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| cookie.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_response_gets_the_fixed_headers_and_no_hsts_without_https() {
        let mut headers = HeaderMap::new();
        headers.append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        apply(&mut headers, false);
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
        assert_eq!(headers[header::SET_COOKIE], "a=1; Path=/");
    }

    #[test]
    fn behind_https_every_cookie_is_secure_once_and_hsts_is_sent() {
        let mut headers = HeaderMap::new();
        headers.append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("b=2; HttpOnly; Secure"),
        );
        apply(&mut headers, true);
        let cookies: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies, ["a=1; Path=/; Secure", "b=2; HttpOnly; Secure"]);
        assert_eq!(
            headers[header::STRICT_TRANSPORT_SECURITY],
            STRICT_TRANSPORT_SECURITY
        );
    }
}
