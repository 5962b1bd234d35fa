//! Users, API keys, and who is calling.

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::ids::{new_secret, now};
use crate::json::decode_stored_object;
use crate::store::{db, meta, one_value, set_meta};

/// The user the server creates on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin@local";

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The user id.
    pub(crate) user_id: String,
    /// Whether the user is a site admin.
    pub(crate) site_admin: bool,
    /// The request asked for `exhaustive=true` (site admins then see everything).
    pub(crate) exhaustive: bool,
}

impl Caller {
    /// Whether this caller sees every container regardless of permissions.
    pub(crate) fn sees_all(&self) -> bool {
        self.site_admin && self.exhaustive
    }
}

/// The caller holding the API key `secret`; `exhaustive` as the request asked.
///
/// # Errors
///
/// 401 for an unknown key or a disabled user.
pub(crate) fn caller_for_key(
    c: &Connection,
    secret: &str,
    exhaustive: bool,
) -> Result<Caller, ApiError> {
    let user = user_for_key(c, secret)?.ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
    if user.get("disabled") == Some(&Value::Bool(true)) {
        return Err(ApiError::unauthorized("this user is disabled"));
    }
    Ok(Caller {
        user_id: user["_id"].as_str().unwrap_or_default().to_string(),
        site_admin: is_site_admin(&user),
        exhaustive,
    })
}

/// Whether a user document holds the `site_admin` role (or the legacy `root` flag).
pub(crate) fn is_site_admin(user: &Value) -> bool {
    user.get("root") == Some(&Value::Bool(true))
        || user["roles"]
            .as_array()
            .is_some_and(|roles| roles.iter().any(|r| r == "site_admin"))
}

fn user_for_key(c: &Connection, secret: &str) -> Result<Option<Value>, ApiError> {
    let doc: Option<String> = one_value(
        c,
        "SELECT u.doc FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.secret = ?1",
        [secret],
    )?;
    doc.map(|d| decode_stored_object(&d, "the user of this API key"))
        .transpose()
}

/// A user's document.
pub(crate) fn user(c: &Connection, id: &str) -> Result<Option<Value>, ApiError> {
    let doc: Option<String> = one_value(c, "SELECT doc FROM users WHERE id = ?1", [id])?;
    doc.map(|d| decode_stored_object(&d, &format!("user {id}")))
        .transpose()
}

/// `GET /users/{id}` (and `/users/self`): a user's document.
///
/// # Errors
///
/// 404 for an unknown user.
pub(crate) fn get_user(c: &Connection, id: &str) -> Result<Value, ApiError> {
    user(c, id)?.ok_or_else(|| ApiError::not_found(format!("user {id} not found")))
}

/// Every user, in id order.
pub(crate) fn users(c: &Connection) -> Result<Vec<Value>, ApiError> {
    crate::store::documents(c, "users", "user")
}

/// `GET /users`: the users, with every paging parameter (`filter`, `sort`, `limit`,
/// `skip`, `page`, `after_id`; docs/wire.md §4.2), so `fw.users.find()` ends and
/// `find_first('_id=x')` finds x.
///
/// # Errors
///
/// A 400 naming a parameter that does not parse or does not go with another.
pub(crate) fn list_users(
    c: &Connection,
    params: &crate::containers::ListParams,
) -> Result<Vec<Value>, ApiError> {
    let paging = params.paging()?;
    Ok(paging.page(users(c)?, "_id").0)
}

/// Checks a user id as given by a person: an e-mail-like string, not too long.
pub(crate) fn check_user_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 254
        && !id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{id:?} is not a valid user id (an e-mail address, at most 254 characters)"
        )))
    }
}

/// Creates a user if missing; returns whether it was created.
pub(crate) fn ensure_user(c: &Connection, id: &str, fields: &Value) -> Result<bool, ApiError> {
    check_user_id(id)?;
    if user(c, id)?.is_some() {
        return Ok(false);
    }
    let when = now();
    let mut doc = json!({
        "_id": id, "user_id": id, "email": id, "firstname": "", "lastname": "",
        "roles": ["user"], "disabled": false, "created": when, "modified": when,
        "info": {}, "preferences": {},
    });
    if let (Some(doc), Some(fields)) = (doc.as_object_mut(), fields.as_object()) {
        for key in [
            "firstname",
            "lastname",
            "email",
            "roles",
            "disabled",
            "info",
        ] {
            if let Some(value) = fields.get(key) {
                let value = crate::metadata::field_to_store(key, value.clone())?;
                doc.insert(key.to_string(), value);
            }
        }
        if fields.get("root") == Some(&Value::Bool(true)) {
            let roles = doc.entry("roles").or_insert_with(|| json!([]));
            if let Some(roles) = roles.as_array_mut()
                && !roles.iter().any(|r| r == "site_admin")
            {
                roles.push(json!("site_admin"));
            }
        }
    }
    c.execute(
        "INSERT INTO users (id, doc) VALUES (?1, ?2)",
        params![id, doc.to_string()],
    )
    .map_err(db)?;
    Ok(true)
}

/// `POST /users` (site admins): a new user from a `UserInput` body; returns its id.
///
/// # Errors
///
/// 403 for other callers, 400 for a bad body, 409 when the user exists.
pub(crate) fn add_user(c: &Connection, caller: &Caller, body: Value) -> Result<String, ApiError> {
    if !caller.site_admin {
        return Err(ApiError::forbidden("only site admins add users"));
    }
    let input: fw_model::UserInput = crate::json::typed_body(body, "user")?;
    let id = input
        .id
        .as_ref()
        .map(|id| id.as_str().to_string())
        .ok_or_else(|| ApiError::bad_request("a user needs an `_id`"))?;
    let fields = serde_json::to_value(&input)
        .map_err(|e| ApiError::internal(format!("cannot re-encode a user: {e}")))?;
    if !ensure_user(c, &id, &fields)? {
        return Err(ApiError::conflict(format!("user {id} exists already")));
    }
    Ok(id)
}

/// Adds an API key for a user; a given secret is used as is, else a random one.
pub(crate) fn add_key(
    c: &Connection,
    user_id: &str,
    secret: Option<&str>,
) -> Result<String, ApiError> {
    let secret = secret.map_or_else(new_secret, str::to_string);
    if secret.is_empty() || secret.contains(|ch: char| ch.is_whitespace() || ch == ':') {
        return Err(ApiError::bad_request(
            "an API key secret must be non-empty, without spaces or ':'",
        ));
    }
    c.execute(
        "INSERT INTO api_keys (secret, user_id, created) VALUES (?1, ?2, ?3)
         ON CONFLICT (secret) DO UPDATE SET user_id = excluded.user_id",
        params![secret, user_id, now()],
    )
    .map_err(db)?;
    Ok(secret)
}

/// Makes sure the bootstrap site admin exists with a key: `admin_key` when given, else the
/// key kept from an earlier start, else a new random one. Returns the secret.
pub(crate) fn bootstrap(c: &Connection, admin_key: Option<&str>) -> Result<String, ApiError> {
    ensure_user(
        c,
        BOOTSTRAP_ADMIN,
        &json!({"firstname": "Site", "lastname": "Admin", "roles": ["site_admin", "user"]}),
    )?;
    let secret = match (admin_key, meta(c, "admin_key")?) {
        (Some(given), _) => given.to_string(),
        (None, Some(kept)) => kept,
        (None, None) => new_secret(),
    };
    add_key(c, BOOTSTRAP_ADMIN, Some(&secret))?;
    set_meta(c, "admin_key", &secret)?;
    Ok(secret)
}
