//! API keys (docs/wire.md §2.1) and the CLI's credentials file (§2.2).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Error;

/// Where to send requests and how to sign them, from an API key such as
/// `flywheel.example.com:abc123` or `127.0.0.1:8080:__force_insecure:abc123`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    base_url: String,
    authorization: String,
}

/// The shapes an API key may take, shown when one does not parse.
const EXPECTED: &str = "expected host:key, host:port:key or host:port:__force_insecure:key \
                        (optionally after http:// or https://)";

impl ApiKey {
    /// Parses an API key (docs/wire.md §2.1):
    ///
    /// | key | base URL |
    /// |---|---|
    /// | `host:key` | `https://host:443/api` |
    /// | `host:port:key` | `https://host:port/api` |
    /// | `host:port:__force_insecure:key` | `http://host:port/api` |
    /// | `http://host:port:key` | `http://host:port/api` (the scheme written out) |
    ///
    /// The `Authorization` header is `Bearer <key>` for a key part of exactly 57
    /// characters, else `scitran-user <key>`. The Python SDK turns
    /// `host:__force_insecure:key` into a broken URL; here it is an error.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming what is malformed (scheme, port, missing key); the message
    /// never contains the key.
    pub fn parse(text: &str) -> Result<ApiKey, Error> {
        let text = text.trim();
        let (explicit_scheme, rest) = match text.split_once("://") {
            Some((scheme @ ("http" | "https"), rest)) => (Some(scheme), rest),
            Some(_) => {
                return Err(invalid(
                    "only http:// and https:// may come before the host",
                ));
            }
            None => (None, text),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let (host, port, insecure, key) = match parts.as_slice() {
            [host, key] => (*host, None, false, *key),
            [_, "__force_insecure", _] => {
                return Err(invalid(
                    "__force_insecure takes the port's place; write host:port:__force_insecure:key",
                ));
            }
            [host, port, key] => (*host, Some(*port), false, *key),
            [host, port, "__force_insecure", key] => (*host, Some(*port), true, *key),
            [_] => return Err(invalid("the key has no ':' between host and key")),
            _ => return Err(invalid("too many ':'-separated parts")),
        };
        if host.is_empty() || host.contains(['/', '@', ' ', '?', '#']) {
            return Err(invalid("the host is empty or not a host name"));
        }
        if key.is_empty() {
            return Err(invalid("the key part is empty"));
        }
        let scheme = match (insecure, explicit_scheme) {
            (true, _) => "http",
            (false, Some(scheme)) => scheme,
            (false, None) => "https",
        };
        let port: u16 = match port {
            Some(port) => port
                .parse()
                .map_err(|_| invalid("the port is not a number from 0 to 65535"))?,
            None if scheme == "http" => 80,
            None => 443,
        };
        let authorization = if key.chars().count() == 57 {
            format!("Bearer {key}")
        } else {
            format!("scitran-user {key}")
        };
        Ok(ApiKey {
            base_url: format!("{scheme}://{host}:{port}/api"),
            authorization,
        })
    }

    /// Reads the key the Flywheel CLI saved: the `key` field of
    /// `~/.config/flywheel/user.json` (other fields are ignored).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `$HOME` is unset, and as [`ApiKey::from_file`].
    pub fn from_credentials_file() -> Result<ApiKey, Error> {
        let home = std::env::var_os("HOME").ok_or_else(|| Error::Config {
            message: "no API key given, and $HOME is not set to find the CLI's credentials"
                .to_string(),
        })?;
        ApiKey::from_file(&credentials_path(Path::new(&home)))
    }

    /// Reads the `key` field of a credentials file such as the CLI's `user.json`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the file cannot be read, is not JSON, has no string `key`, or
    /// the key does not parse ([`ApiKey::parse`]).
    pub fn from_file(path: &Path) -> Result<ApiKey, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            message: format!(
                "no API key given, and the CLI's credentials {} cannot be read ({e}); \
                 log in with the Flywheel CLI or pass a key",
                path.display()
            ),
        })?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Config {
            message: format!("{} is not JSON: {e}", path.display()),
        })?;
        let key = json
            .get("key")
            .and_then(|k| k.as_str())
            .ok_or_else(|| Error::Config {
                message: format!("{} has no string field \"key\"", path.display()),
            })?;
        ApiKey::parse(key)
    }

    /// The API root, e.g. `https://flywheel.example.com:443/api`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The value of the `Authorization` header. It holds the secret: do not log it.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }
}

/// `$HOME/.config/flywheel/user.json`.
pub fn credentials_path(home: &Path) -> PathBuf {
    home.join(".config/flywheel/user.json")
}

impl fmt::Debug for ApiKey {
    /// Shows the base URL and the scheme of the header, never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.authorization.split(' ').next().unwrap_or_default();
        f.debug_struct("ApiKey")
            .field("base_url", &self.base_url)
            .field("authorization", &format_args!("{scheme} <secret>"))
            .finish()
    }
}

fn invalid(why: &str) -> Error {
    Error::Config {
        message: format!("invalid API key: {why}; {EXPECTED}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_table_of_the_wire_protocol() {
        let key57 = "k".repeat(57);
        let key57 = key57.as_str();
        let table: &[(&str, &str, &str)] = &[
            (
                "flywheel.example.com:abc123",
                "https://flywheel.example.com:443/api",
                "scitran-user abc123",
            ),
            (
                "flywheel.example.com:8443:abc123",
                "https://flywheel.example.com:8443/api",
                "scitran-user abc123",
            ),
            (
                "localhost:8080:__force_insecure:abc123",
                "http://localhost:8080/api",
                "scitran-user abc123",
            ),
            (
                "127.0.0.1:5000:__force_insecure:abcdefKEY",
                "http://127.0.0.1:5000/api",
                "scitran-user abcdefKEY",
            ),
            // The `http(s)://` prefix form.
            (
                "https://flywheel.example.com:abc123",
                "https://flywheel.example.com:443/api",
                "scitran-user abc123",
            ),
            (
                "http://localhost:8080:abc123",
                "http://localhost:8080/api",
                "scitran-user abc123",
            ),
            (
                "http://localhost:abc123",
                "http://localhost:80/api",
                "scitran-user abc123",
            ),
            (
                "https://localhost:8080:__force_insecure:abc123",
                "http://localhost:8080/api",
                "scitran-user abc123",
            ),
            (
                "  flywheel.example.com:abc123\n",
                "https://flywheel.example.com:443/api",
                "scitran-user abc123",
            ),
        ];
        for (text, base, auth) in table {
            let key = ApiKey::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (key.base_url(), key.authorization()),
                (*base, *auth),
                "{text}"
            );
        }
        let bearer = ApiKey::parse(&format!("flywheel.example.com:{key57}")).unwrap();
        assert_eq!(bearer.authorization(), format!("Bearer {key57}"));
        let not_bearer = ApiKey::parse(&format!("flywheel.example.com:{key57}x")).unwrap();
        assert!(not_bearer.authorization().starts_with("scitran-user "));
    }

    #[test]
    fn bad_keys_say_why_and_never_echo_the_secret() {
        let table = [
            ("abc123secret", "no ':'"),
            (
                "localhost:__force_insecure:abc123secret",
                "takes the port's place",
            ),
            ("host:port:abc123secret", "port is not a number"),
            ("host:99999:abc123secret", "port is not a number"),
            ("host:1:2:3:abc123secret", "too many"),
            ("host:8080:nope:abc123secret", "too many"),
            (":abc123secret", "host is empty"),
            ("host:", "key part is empty"),
            ("ftp://host:abc123secret", "only http:// and https://"),
        ];
        for (text, why) in table {
            let message = ApiKey::parse(text).unwrap_err().to_string();
            assert!(message.contains(why), "{text}: {message}");
            assert!(
                message.contains("host:port:__force_insecure:key"),
                "{message}"
            );
            assert!(
                !message.contains("abc123secret"),
                "{text} leaked: {message}"
            );
        }
        assert!(
            !format!("{:?}", ApiKey::parse("h:abc123secret").unwrap()).contains("abc123secret")
        );
    }

    #[test]
    fn credentials_file_uses_only_the_key_field() {
        let dir = std::env::temp_dir().join(format!("fw-transport-creds-{}", std::process::id()));
        let path = credentials_path(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"key": "127.0.0.1:9:__force_insecure:clikey123", "root": true}"#,
        )
        .unwrap();
        let key = ApiKey::from_file(&path).unwrap();
        assert_eq!(key.base_url(), "http://127.0.0.1:9/api");
        assert_eq!(key.authorization(), "scitran-user clikey123");
        std::fs::write(&path, r#"{"root": true}"#).unwrap();
        assert!(
            ApiKey::from_file(&path)
                .unwrap_err()
                .to_string()
                .contains("\"key\"")
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            ApiKey::from_file(&path)
                .unwrap_err()
                .to_string()
                .contains("log in")
        );
    }
}
