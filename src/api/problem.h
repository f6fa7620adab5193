// RFC 9457 problem details: every refusal the API sends.
#pragma once

#include <vector>

#include "api/http_types.h"
#include "api/json_codec.h"
#include "domain/error.h"

namespace varelay::api {

// The HTTP status for an error code.
int StatusFor(ErrorCode code);

// `application/problem+json` with type, title, status, detail, code and, when given, the
// per-field `errors`.
HttpResponse ProblemResponse(const Error& error, const std::vector<FieldError>& fields = {});

// The same, as the status and body an Idempotency-Key replay stores.
RenderedResponse RenderProblem(const Error& error);

}  // namespace varelay::api
