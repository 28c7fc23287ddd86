"""Every error the service answers with, made in one place (section 7).

Tree:
    BatchServiceError            one Batch error response: HTTP status, code, message, key/value details
        (raised by the backend, auth, conditions and the HTTP layer; turned into a body by `error_body`)

One factory per code below carries the status and the service's wording; callers add details as values.
ValidationError from batch_service.validation has the same four parts and is converted by `coerce`.
"""
from __future__ import annotations

from typing import Any

Values = list[dict[str, str]]


class BatchServiceError(Exception):
    """Raised for any request the service refuses; becomes a BatchError JSON body (section 7.1)."""

    def __init__(self, status: int, code: str, message: str, values: Values | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.values: Values = list(values or [])
        self.headers: dict[str, str] = dict(headers or {})


def _pairs(**details: str) -> Values:
    return [{"key": key, "value": value} for key, value in details.items()]


def error_body(error: BatchServiceError, request_id: str, time_iso: str, base_url: str) -> dict[str, Any]:
    """The BatchError JSON of section 7.1, with RequestId and Time embedded in the message."""
    body: dict[str, Any] = {
        "odata.metadata": f"{base_url}/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
        "code": error.code,
        "message": {"lang": "en-US", "value": f"{error.message}\nRequestId:{request_id}\nTime:{time_iso}"},
    }
    if error.values:
        body["values"] = error.values
    return body


def item_error(error: BatchServiceError, request_id: str, time_iso: str) -> dict[str, Any]:
    """The BatchError inside one add-collection result (section 2.5): no odata.metadata."""
    body: dict[str, Any] = {
        "code": error.code,
        "message": {"lang": "en-US", "value": f"{error.message}\nRequestId:{request_id}\nTime:{time_iso}"},
    }
    if error.values:
        body["values"] = error.values
    return body


def coerce(exc: BaseException) -> BatchServiceError | None:
    """The BatchServiceError for `exc` if it is one or a validation.ValidationError, else None."""
    if isinstance(exc, BatchServiceError):
        return exc
    try:
        from batch_service.validation.bodies import ValidationError
    except ImportError:
        return None
    if isinstance(exc, ValidationError):
        return BatchServiceError(exc.status, exc.code, exc.message, list(exc.values))
    return None


# --- 400: request shape -------------------------------------------------------------------------------------

def missing_query_parameter(name: str) -> BatchServiceError:
    """A required query parameter (api-version) is absent."""
    return BatchServiceError(400, "MissingRequiredQueryParameter",
                             "A query parameter that's mandatory for this request is not specified.",
                             _pairs(QueryParameterName=name))


def unsupported_api_version(value: str) -> BatchServiceError:
    """The api-version is not 2025-06-01 (section 1.1)."""
    return BatchServiceError(400, "UnsupportedRequestVersion",
                             "The specified api-version is not supported by this service.",
                             _pairs(QueryParameterName="api-version", QueryParameterValue=value,
                                    Reason="This service supports api-version 2025-06-01 only."))


def invalid_query_value(name: str, reason: str) -> BatchServiceError:
    """A query parameter has a value the service cannot use ($filter syntax, maxresults not a number)."""
    return BatchServiceError(400, "InvalidQueryParameterValue",
                             "Value for one of the query parameters specified in the request URI is invalid.",
                             _pairs(QueryParameterName=name, Reason=reason))


def query_value_out_of_range(name: str, reason: str) -> BatchServiceError:
    """A numeric query parameter is outside its range (maxresults 1..1000, section 1.5)."""
    return BatchServiceError(400, "OutOfRangeQueryParameterValue",
                             "One of the query parameters specified in the request URI is outside the "
                             "permissible range.", _pairs(QueryParameterName=name, Reason=reason))


def invalid_header_value(name: str, reason: str) -> BatchServiceError:
    """A header is present but not in the expected format (dates, ocp-range)."""
    return BatchServiceError(400, "InvalidHeaderValue",
                             "The value for one of the HTTP headers is not in the correct format.",
                             _pairs(HeaderName=name, Reason=reason))


def invalid_request_body(reason: str) -> BatchServiceError:
    """The body is not JSON, or not the JSON shape the operation takes."""
    return BatchServiceError(400, "InvalidRequestBody", "The specified Request Body is not syntactically valid.",
                             _pairs(Reason=reason))


def missing_property(path: str) -> BatchServiceError:
    """A required body property is absent."""
    return BatchServiceError(400, "MissingRequiredProperty",
                             "A required property was not specified in the request body.",
                             _pairs(PropertyName=path))


def invalid_property(path: str, reason: str) -> BatchServiceError:
    """A body property has a value the service refuses in this situation."""
    return BatchServiceError(400, "InvalidPropertyValue",
                             "The value provided for one of the properties in the request body is invalid.",
                             _pairs(PropertyName=path, Reason=reason))


def invalid_uri(reason: str) -> BatchServiceError:
    """A path segment (a task file path) is not acceptable."""
    return BatchServiceError(400, "InvalidUri", "The requested URI does not represent any resource on the server.",
                             _pairs(Reason=reason))


def invalid_authentication_info(reason: str) -> BatchServiceError:
    """The Authorization header is not in a form the service understands (section 7.2)."""
    return BatchServiceError(400, "InvalidAuthenticationInfo",
                             "Authentication information is not given in the correct format. "
                             "Check the value of Authorization header.", _pairs(AuthenticationErrorDetail=reason))


# --- 403 / 404 / 405 ----------------------------------------------------------------------------------------

def authentication_failed(detail: str) -> BatchServiceError:
    """Unsigned, wrongly signed or stale request (section 8.2)."""
    return BatchServiceError(403, "AuthenticationFailed",
                             "Server failed to authenticate the request. Make sure the value of Authorization "
                             "header is formed correctly including the signature.",
                             _pairs(AuthenticationErrorDetail=detail))


def forbidden_remote() -> BatchServiceError:
    """A /_local control endpoint was called from a non-loopback address."""
    return BatchServiceError(403, "InsufficientAccountPermissions",
                             "The account being accessed does not have sufficient permissions to execute this "
                             "operation.", _pairs(Reason="Control endpoints answer loopback callers only."))


def job_not_found() -> BatchServiceError:
    """No job with that id (case-insensitive)."""
    return BatchServiceError(404, "JobNotFound", "The specified job does not exist.")


def task_not_found() -> BatchServiceError:
    """No task with that id in the job."""
    return BatchServiceError(404, "TaskNotFound", "The specified task does not exist.")


def pool_not_found() -> BatchServiceError:
    """No pool with that id."""
    return BatchServiceError(404, "PoolNotFound", "The specified pool does not exist.")


def file_not_found() -> BatchServiceError:
    """No such file in the task directory."""
    return BatchServiceError(404, "FileNotFound", "The specified file does not exist.")


def resource_not_found() -> BatchServiceError:
    """No operation lives at this path."""
    return BatchServiceError(404, "ResourceNotFound", "The specified resource does not exist.")


def unsupported_verb(method: str) -> BatchServiceError:
    """The path exists but not with this HTTP method."""
    return BatchServiceError(405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.",
                             _pairs(HttpVerb=method))


# --- 304 / 412 / 413 / 416 ----------------------------------------------------------------------------------

def condition_not_met(status: int) -> BatchServiceError:
    """A conditional header failed: 304 on reads, 412 on writes (section 1.4)."""
    return BatchServiceError(status, "ConditionNotMet",
                             "The condition specified using HTTP conditional header(s) is not met.")


def request_body_too_large(limit: int) -> BatchServiceError:
    """The body is 1 MB or more (section 2.5)."""
    return BatchServiceError(413, "RequestBodyTooLarge",
                             "The request body is too large and exceeds the maximum permissible limit.",
                             _pairs(MaxLimit=str(limit)))


def invalid_range(size: int) -> BatchServiceError:
    """The ocp-range starts beyond the end of the file."""
    return BatchServiceError(416, "InvalidRange",
                             "The range specified is invalid for the current size of the resource.",
                             _pairs(ContentLength=str(size)))


# --- 409: existence and state -------------------------------------------------------------------------------

def job_exists() -> BatchServiceError:
    """A job with this id (case-insensitively) exists."""
    return BatchServiceError(409, "JobExists", "The specified job already exists.")


def task_exists() -> BatchServiceError:
    """A task with this id (case-insensitively) exists in the job."""
    return BatchServiceError(409, "TaskExists", "The specified task already exists.")


def pool_exists() -> BatchServiceError:
    """A pool with this id exists."""
    return BatchServiceError(409, "PoolExists", "The specified pool already exists.")


def pool_being_deleted() -> BatchServiceError:
    """The pool is in state deleting."""
    return BatchServiceError(409, "PoolBeingDeleted",
                             "The specified pool has been marked for deletion and is being reclaimed.")


def task_id_same_as_job_preparation_task() -> BatchServiceError:
    """The task id equals the job preparation task's id (section 3.4)."""
    return BatchServiceError(409, "TaskIdSameAsJobPreparationTask",
                             "The specified Task ID is the same as the Job Preparation Task ID.")


def job_preparation_task_not_specified() -> BatchServiceError:
    """Preparation and release status asked of a job with neither task (Job - List Preparation And Release)."""
    return BatchServiceError(409, "JobPreparationTaskNotSpecified",
                             "The specified job does not have a Job Preparation Task or Job Release Task.")


def task_id_same_as_job_release_task() -> BatchServiceError:
    """The task id equals the job release task's id (section 3.4)."""
    return BatchServiceError(409, "TaskIdSameAsJobReleaseTask",
                             "The specified Task ID is the same as the Job Release Task ID.")


def job_being_deleted() -> BatchServiceError:
    """The job is in state deleting (section 2.5)."""
    return BatchServiceError(409, "JobBeingDeleted",
                             "The specified job has been marked for deletion and is being reclaimed.")


def job_being_terminated() -> BatchServiceError:
    """The job is in state terminating."""
    return BatchServiceError(409, "JobBeingTerminated", "The specified job is being terminated.")


def job_completed() -> BatchServiceError:
    """The job is completed; a completed job accepts no changes (section 6.1)."""
    return BatchServiceError(409, "JobCompleted", "The specified job is already in a completed state.")


def job_not_active() -> BatchServiceError:
    """The operation needs an active job."""
    return BatchServiceError(409, "JobNotActive", "The specified job is not in an active state.")


def task_completed() -> BatchServiceError:
    """The task is already completed."""
    return BatchServiceError(409, "TaskCompleted", "The specified task is already completed.")


def task_not_completed() -> BatchServiceError:
    """Reactivate needs a completed task (section 2.5)."""
    return BatchServiceError(409, "TaskNotCompleted", "The specified task is not in the completed state.")


def task_succeeded() -> BatchServiceError:
    """Reactivate refuses a task that completed with exit code 0 (section 2.5)."""
    return BatchServiceError(409, "TaskSucceeded", "The specified task completed successfully.")


def invalid_for_current_state(reason: str) -> BatchServiceError:
    """Generic state conflict."""
    return BatchServiceError(409, "OperationInvalidForCurrentState",
                             "The specified operation is not valid for the current state of the resource.",
                             _pairs(Reason=reason))


# --- throttling and server faults (section 9) ---------------------------------------------------------------

def server_busy(retry_after: int) -> BatchServiceError:
    """503 with Retry-After."""
    return BatchServiceError(503, "ServerBusy",
                             "The server is currently unable to receive requests. Please retry your request.",
                             headers={"Retry-After": str(retry_after)})


def too_many_requests(retry_after: int) -> BatchServiceError:
    """429 with Retry-After."""
    return BatchServiceError(429, "TooManyRequests", "Request failed as server encountered too many requests.",
                             headers={"Retry-After": str(retry_after)})


def internal_error() -> BatchServiceError:
    """An unexpected failure inside the service (logged with its traceback)."""
    return BatchServiceError(500, "InternalError",
                             "Server encountered an internal error. Please try again after some time.")


# --- pools, nodes and autoscale -------------------------------------------------------------------------------

def pool_being_resized() -> BatchServiceError:
    """A resize, node removal or autoscale change asked of a pool whose allocationState is not steady."""
    return BatchServiceError(409, "PoolBeingResized",
                             "A pool operation was attempted which is not permitted while the pool is being "
                             "resized.")


def node_not_found() -> BatchServiceError:
    """No compute node with that id in the pool."""
    return BatchServiceError(404, "NodeNotFound", "The specified node does not exist.")


def node_already_in_target_scheduling_state() -> BatchServiceError:
    """disablescheduling on a disabled node, enablescheduling on an enabled one."""
    return BatchServiceError(409, "NodeAlreadyInTargetSchedulingState",
                             "The specified compute node is already in the target scheduling state.")


def node_being_rebooted() -> BatchServiceError:
    """A node operation asked of a node that is rebooting."""
    return BatchServiceError(409, "NodeBeingRebooted",
                             "A compute node operation was attempted which is not permitted while the node is "
                             "being rebooted.")


def node_being_reimaged() -> BatchServiceError:
    """409 NodeBeingReimaged."""
    return BatchServiceError(409, "NodeBeingReimaged", "The specified node is being reimaged.")


def node_user_exists() -> BatchServiceError:
    """409 NodeUserExists."""
    return BatchServiceError(409, "NodeUserExists", "The specified node user already exists.")


def node_user_not_found() -> BatchServiceError:
    """404 NodeUserNotFound."""
    return BatchServiceError(404, "NodeUserNotFound", "The node user does not exist.")


def node_user_account_failed(detail: str) -> BatchServiceError:
    """500 InternalError: the node could not create the user's OS account (the tool's message attached)."""
    return BatchServiceError(500, "InternalError", f"The node could not create the user account: {detail}")


def application_not_found() -> BatchServiceError:
    """404 ApplicationNotFound."""
    return BatchServiceError(404, "ApplicationNotFound", "The specified application does not exist.")


def autoscale_formula_syntax_error(reason: str, line: int, column: int) -> BatchServiceError:
    """400 AutoScalingFormulaSyntaxError: the formula does not parse; where, and what was met."""
    return BatchServiceError(400, "AutoScalingFormulaSyntaxError",
                             f"The specified auto-scaling formula has a syntax error at line {line}, column "
                             f"{column}.", _pairs(Line=str(line), Column=str(column), Reason=reason))


def autoscale_formula_too_long(limit: int) -> BatchServiceError:
    """400 AutoScalingFormulaTooLong."""
    return BatchServiceError(400, "AutoScalingFormulaTooLong",
                             "The specified auto-scaling formula exceeds lengths limit.",
                             _pairs(Reason=f"A formula has at most {limit} characters."))
