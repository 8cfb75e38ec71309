//! [`ApiError`]: every 4xx/5xx answer of the server, as `{"error": kind, "message": ...}`.
//!
//! Handlers return `Result<_, ApiError>`; the engine's [`kevo::Error`] converts into one
//! with the status of the table in the crate docs. Answers made outside the handlers (axum's
//! 404/405, the body limit's 413, the timeout's 408) are rewritten into the same shape by
//! [`json_errors`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error answer: an HTTP status, a machine-readable `kind` (the `error` field) and a
/// human-readable `message`; `extra` fields (such as a transaction's `conflicts`) are merged
/// into the JSON object.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status (4xx or 5xx).
    pub status: StatusCode,
    /// The `error` field: a short snake_case name (see the crate docs for the list).
    pub kind: &'static str,
    /// The `message` field.
    pub message: String,
    /// More fields of the JSON object, if any (an object; other values are ignored).
    pub extra: Option<Value>,
}

impl ApiError {
    /// An error with `status`, `kind` and `message` and no extra fields.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            extra: None,
        }
    }

    /// 400 `bad_request`: malformed input (percent-encoding, JSON, query parameters).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`: the key (or route) does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 412 `precondition_failed`: an `If-Match` / `If-None-Match` did not hold.
    pub fn precondition_failed(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            message,
        )
    }

    /// 500 `internal`: a failure of the server itself (a blocking task that panicked).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// Adds the fields of the object `extra` to the answer.
    pub fn with_extra(mut self, extra: Value) -> ApiError {
        self.extra = Some(extra);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut v = json!({"error": self.kind, "message": self.message});
        if let (Some(Value::Object(extra)), Value::Object(obj)) = (&self.extra, &mut v) {
            for (k, x) in extra {
                obj.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

/// The engine's error kind as the `error` field, and its status: invalid input is the
/// client's fault (400), a database that cannot take writes is unavailable (503), a
/// transaction conflict is 409, everything else is the server's (500).
impl From<kevo::Error> for ApiError {
    fn from(e: kevo::Error) -> ApiError {
        use kevo::Error as E;
        let (status, kind) = match &e {
            E::InvalidArgument(_) => (StatusCode::BAD_REQUEST, "invalid_argument"),
            E::Background(_) => (StatusCode::SERVICE_UNAVAILABLE, "background"),
            E::ReadOnly(_) => (StatusCode::SERVICE_UNAVAILABLE, "read_only"),
            E::Closed => (StatusCode::SERVICE_UNAVAILABLE, "closed"),
            E::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            E::Io { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "io"),
            E::Corruption { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "corruption"),
            E::Locked(_) => (StatusCode::INTERNAL_SERVER_ERROR, "locked"),
            E::NotFound(_) => (StatusCode::INTERNAL_SERVER_ERROR, "engine_not_found"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "engine"),
        };
        ApiError::new(status, kind, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
            body,
        )
            .into_response()
    }
}

const JSON: &str = "application/json";

/// The `error` kind of an error answer that was not made by a handler, by status.
fn kind_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "client_error",
        _ => "internal",
    }
}

/// Middleware: an error answer (4xx/5xx) whose body is not JSON — axum's 404 and 405, the
/// body limit's 413, the timeout's 408 — gets the JSON error body, its old text (if any) as
/// the message. A `HEAD` answer keeps its empty body.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(JSON.as_bytes()));
    if is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // Bodies of these answers are short texts; anything over 64 KiB is cut.
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let body = ApiError::new(status, kind_of(status), message)
        .body()
        .to_string();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
