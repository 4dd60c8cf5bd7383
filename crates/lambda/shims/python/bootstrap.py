"""Baton's runtime shim for python3.x functions.

A small client of the AWS Lambda Runtime API, written for Baton: it imports the
handler named by _HANDLER ("module.function", the module found under LAMBDA_TASK_ROOT),
then loops: take the next invocation, call the handler with the event and a context,
post the result or the error. Only the standard library is used, so any python3 runs it.
"""

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API_HOST, _, API_PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
BASE = "/2018-06-01/runtime"

_conn = None


def _request(method, path, body=None, headers=None):
    """One request on a kept-alive connection; reconnects once if it was dropped."""
    global _conn
    for attempt in (0, 1):
        if _conn is None:
            _conn = http.client.HTTPConnection(API_HOST, int(API_PORT))
        try:
            _conn.request(method, BASE + path, body=body, headers=headers or {})
            response = _conn.getresponse()
            return response, response.read()
        except (ConnectionError, http.client.HTTPException, OSError):
            _conn.close()
            _conn = None
            if attempt == 1:
                raise


def _error_body(message, error_type, stack=None, request_id=""):
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    }


def _post_json(path, body, error_type=None):
    headers = {"Content-Type": "application/json"}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    _request("POST", path, json.dumps(body).encode(), headers)


def _init_failure(message, error_type, stack=None):
    print(f"[ERROR] {error_type}: {message}", file=sys.stderr, flush=True)
    _post_json("/init/error", _error_body(message, error_type, stack), error_type)
    sys.exit(1)


def _stack(exc):
    """The traceback without the shim's own frames (only the user's code)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return traceback.format_list(frames)


def _load_handler():
    spec = os.environ.get("_HANDLER", "")
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        _init_failure(
            f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
            "Runtime.MalformedHandlerName",
        )
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        _init_failure(
            f"Syntax error in module '{module_name}': {e}", "Runtime.UserCodeSyntaxError", _stack(e)
        )
    except ImportError as e:
        _init_failure(f"Unable to import module '{module_name}': {e}", "Runtime.ImportModuleError")
    except Exception as e:  # the module's own code raised while loading
        _init_failure(str(e), type(e).__name__, _stack(e))
    handler = getattr(module, function_name, None)
    if handler is None:
        _init_failure(
            f"Handler '{function_name}' missing on module '{module_name}'",
            "Runtime.HandlerNotFound",
        )
    return handler


class Context:
    """What Lambda's Python runtime passes as `context`."""

    def __init__(self, request_id, deadline_ms, function_arn, client_context):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def _configure_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    _configure_logging()
    handler = _load_handler()
    while True:
        response, body = _request("GET", "/invocation/next")
        if response.status != 200:
            sys.exit(0)
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        deadline = int(response.getheader("Lambda-Runtime-Deadline-Ms") or 0)
        arn = response.getheader("Lambda-Runtime-Invoked-Function-Arn")
        trace = response.getheader("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        client_context = response.getheader("Lambda-Runtime-Client-Context")
        if client_context:
            try:
                client_context = json.loads(client_context)
            except ValueError:
                pass
        _RequestIdFilter.request_id = request_id
        try:
            event = json.loads(body) if body else {}
        except ValueError as e:
            _post_json(
                f"/invocation/{request_id}/error",
                _error_body(f"Unable to unmarshal input: {e}", "Runtime.UnmarshalError", [], request_id),
                "Runtime.UnmarshalError",
            )
            continue
        context = Context(request_id, deadline, arn, client_context)
        try:
            result = handler(event, context)
        except Exception as e:
            error_type = type(e).__name__
            print(f"[ERROR] {error_type}: {e}", file=sys.stderr, flush=True)
            _post_json(
                f"/invocation/{request_id}/error",
                _error_body(str(e), error_type, _stack(e), request_id),
                error_type,
            )
            continue
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as e:
            _post_json(
                f"/invocation/{request_id}/error",
                _error_body(f"Unable to marshal response: {e}", "Runtime.MarshalError", [], request_id),
                "Runtime.MarshalError",
            )
            continue
        _request(
            "POST",
            f"/invocation/{request_id}/response",
            payload,
            {"Content-Type": "application/json"},
        )


if __name__ == "__main__":
    try:
        main()
    except (ConnectionError, OSError, http.client.HTTPException):
        # Baton went away: nothing left to serve.
        sys.exit(0)
