//! `--map-style`: where the live map draws its streets from, a raster tile URL template such
//! as `https://tile.example.org/{z}/{x}/{y}.png`. Without one, or when the tiles cannot be
//! reached, the map draws on a blank background. Tile requests tell the tile server which
//! area the map shows, so they go over HTTPS (plain HTTP only to a loopback tile server).

use std::net::IpAddr;

/// A checked tile URL template, with the attribution its tiles require.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapStyle {
    url: String,
    attribution: String,
}

/// Why a `--map-style` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapStyleError {
    #[error("a map style must start with https:// (http:// only for a loopback tile server)")]
    Scheme,
    #[error("plain http:// is only allowed to a loopback tile server; use https://")]
    PlainHttpNotLoopback,
    #[error("the map style URL has no host")]
    NoHost,
    #[error(
        "the map style must contain {0}: it is a raster tile URL template like https://tiles.example/{{z}}/{{x}}/{{y}}.png"
    )]
    MissingPlaceholder(&'static str),
    #[error(
        "the map style URL must not contain spaces, quotes, angle brackets or control characters"
    )]
    ForbiddenCharacter,
}

impl MapStyle {
    /// Checks a tile URL template: https (or http to loopback), a host, `{z}`, `{x}`, `{y}`.
    pub fn parse(url: &str) -> Result<MapStyle, MapStyleError> {
        if url.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`')
        }) {
            return Err(MapStyleError::ForbiddenCharacter);
        }
        let (plain, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (true, rest)
        } else {
            return Err(MapStyleError::Scheme);
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let host = host_of(authority);
        if host.is_empty() {
            return Err(MapStyleError::NoHost);
        }
        if plain && !is_loopback(host) {
            return Err(MapStyleError::PlainHttpNotLoopback);
        }
        for placeholder in ["{z}", "{x}", "{y}"] {
            if !url.contains(placeholder) {
                return Err(MapStyleError::MissingPlaceholder(placeholder));
            }
        }
        Ok(MapStyle {
            url: url.to_owned(),
            attribution: String::new(),
        })
    }

    /// The credit the tile provider asks for, shown in the map's corner as text.
    pub fn with_attribution(mut self, attribution: impl Into<String>) -> MapStyle {
        self.attribution = attribution.into();
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn attribution(&self) -> &str {
        &self.attribution
    }
}

/// The host of `user@host:port`, without brackets around an IPv6 address.
fn host_of(authority: &str) -> &str {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_templates_and_loopback_http() {
        for url in [
            "https://tile.example.org/{z}/{x}/{y}.png",
            "https://{s}.tiles.example/{z}/{x}/{y}@2x.png?key=abc",
            "http://127.0.0.1:8080/{z}/{x}/{y}.png",
            "http://localhost/{z}/{x}/{y}.png",
            "http://[::1]:9000/tiles/{z}/{x}/{y}.png",
        ] {
            assert_eq!(
                MapStyle::parse(url).map(|s| s.url().to_owned()),
                Ok(url.to_owned())
            );
        }
    }

    #[test]
    fn refuses_what_would_leak_or_break_the_page() {
        let cases = [
            ("ftp://tiles.example/{z}/{x}/{y}.png", MapStyleError::Scheme),
            ("tiles.example/{z}/{x}/{y}.png", MapStyleError::Scheme),
            (
                "http://tiles.example/{z}/{x}/{y}.png",
                MapStyleError::PlainHttpNotLoopback,
            ),
            (
                "http://127.0.0.1.example/{z}/{x}/{y}.png",
                MapStyleError::PlainHttpNotLoopback,
            ),
            ("https:///{z}/{x}/{y}.png", MapStyleError::NoHost),
            (
                "https://tiles.example/{z}/{x}.png",
                MapStyleError::MissingPlaceholder("{y}"),
            ),
            (
                "https://tiles.example/style.json",
                MapStyleError::MissingPlaceholder("{z}"),
            ),
            (
                "https://tiles.example/{z}/{x}/{y}.png\"><script>",
                MapStyleError::ForbiddenCharacter,
            ),
            (
                "https://tiles.example/{z}/{x}/{y}.png x",
                MapStyleError::ForbiddenCharacter,
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(MapStyle::parse(url), Err(expected), "{url}");
        }
    }

    #[test]
    fn keeps_the_attribution() {
        let style = MapStyle::parse("https://tile.example.org/{z}/{x}/{y}.png")
            .expect("valid")
            .with_attribution("© Example contributors");
        assert_eq!(style.attribution(), "© Example contributors");
    }
}
