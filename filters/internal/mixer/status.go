package mixer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Code is a google.rpc.Code, the status a Mixer adapter returned.
type Code int32

// The google.rpc.Code values.
const (
	OK                 Code = 0
	Cancelled          Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// String returns the canonical upper-case name of c, as it appears at the
// start of a Mixer denial body ("PERMISSION_DENIED").
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is one of the 17 google.rpc codes.
func (c Code) Valid() bool { return c >= 0 && int(c) < len(codeNames) }

// HTTPStatus maps c to the HTTP status the Istio proxy's mixer filter sent
// (istio/proxy src/istio/utils/status.cc). Note FAILED_PRECONDITION → 400:
// Mixer's own Go helper said 412, but clients saw 400.
func (c Code) HTTPStatus() uint32 {
	switch c {
	case OK:
		return 200
	case Cancelled:
		return 499
	case Unknown:
		return 500
	case InvalidArgument:
		return 400
	case DeadlineExceeded:
		return 504
	case NotFound:
		return 404
	case AlreadyExists:
		return 409
	case PermissionDenied:
		return 403
	case ResourceExhausted:
		return 429
	case FailedPrecondition:
		return 400
	case Aborted:
		return 409
	case OutOfRange:
		return 400
	case Unimplemented:
		return 501
	case Internal:
		return 500
	case Unavailable:
		return 503
	case DataLoss:
		return 500
	case Unauthenticated:
		return 401
	}
	return 500
}

// ParseCode accepts a code by number (7) or by name ("PERMISSION_DENIED",
// case-insensitive) and rejects anything outside the google.rpc table.
func ParseCode(s string) (Code, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		c := Code(n)
		if !c.Valid() {
			return 0, fmt.Errorf("unknown status code %d: use 0..16 or a google.rpc.Code name such as PERMISSION_DENIED", n)
		}
		return c, nil
	}
	up := strings.ToUpper(s)
	for i, name := range codeNames {
		if name == up {
			return Code(i), nil
		}
	}
	return 0, fmt.Errorf("unknown status code %q: use 0..16 or a google.rpc.Code name such as PERMISSION_DENIED", s)
}

// UnmarshalJSON accepts a number or a name (see ParseCode).
func (c *Code) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var s string
	switch x := v.(type) {
	case float64:
		if x != float64(int64(x)) {
			return fmt.Errorf("status code %v is not an integer", x)
		}
		s = strconv.FormatInt(int64(x), 10)
	case string:
		s = x
	default:
		return fmt.Errorf("status code must be a number or a name, got %s", b)
	}
	parsed, err := ParseCode(s)
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

// Status is a Mixer check result: a code and the adapter's message.
type Status struct {
	Code    Code
	Message string
}

// Body renders the local-reply body clients saw from the Istio proxy:
// "<CODE_NAME>:<handler>:<message>". Mixer's dispatcher prefixed the
// adapter message with the handler name, and the proxy prefixed the code.
func Body(code Code, handler, message string) string {
	return code.String() + ":" + handler + ":" + message
}

// JoinStatuses folds several failing handlers into one status the way
// Mixer's dispatcher did: the first failure's code wins and the
// "<handler>:<message>" parts are joined with ", ".
func JoinStatuses(handlers []string, statuses []Status) (Code, string) {
	var code Code
	var parts []string
	for i, s := range statuses {
		if s.Code == OK {
			continue
		}
		if len(parts) == 0 {
			code = s.Code
		}
		parts = append(parts, handlers[i]+":"+s.Message)
	}
	if len(parts) == 0 {
		return OK, ""
	}
	return code, code.String() + ":" + strings.Join(parts, ", ")
}
