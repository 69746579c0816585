//! Errors as Taskcluster services answer them: a status, and a JSON body
//! `{"code", "message"}` whose code names the kind of failure.

use serde_json::json;

use crate::loopback::Response;

/// A refusal on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    /// An error whose status follows from its code, the way Taskcluster
    /// services map them.
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: status_of(code),
            code,
            message: message.into(),
        }
    }

    /// An error with a given status, its code the one Taskcluster uses for
    /// that status.
    pub(crate) fn with_status(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code_of(status),
            message: message.into(),
        }
    }

    pub(crate) fn response(&self) -> Response {
        let body = json!({"code": self.code, "message": self.message});
        Response::new(self.status, body.to_string())
    }
}

fn status_of(code: &str) -> u16 {
    match code {
        "MalformedPayload" | "InvalidRequestArguments" | "InputValidationError" | "InputError" => {
            400
        }
        "AuthenticationFailed" => 401,
        "InsufficientScopes" => 403,
        "ResourceNotFound" => 404,
        "RequestConflict" => 409,
        "ResourceExpired" => 410,
        "InputTooLarge" => 413,
        _ => 500,
    }
}

fn code_of(status: u16) -> &'static str {
    match status {
        400 => "InputError",
        401 => "AuthenticationFailed",
        403 => "InsufficientScopes",
        404 => "ResourceNotFound",
        409 => "RequestConflict",
        410 => "ResourceExpired",
        413 => "InputTooLarge",
        _ => "InternalServerError",
    }
}
