package properties

import "time"

// GetRequestPath returns the property request.path.
func GetRequestPath() (string, error) { return getString([]string{"request", "path"}) }

// GetRequestUrlPath returns the property request.url_path.
func GetRequestUrlPath() (string, error) { return getString([]string{"request", "url_path"}) }

// GetRequestHost returns the property request.host.
func GetRequestHost() (string, error) { return getString([]string{"request", "host"}) }

// GetRequestScheme returns the property request.scheme.
func GetRequestScheme() (string, error) { return getString([]string{"request", "scheme"}) }

// GetRequestMethod returns the property request.method.
func GetRequestMethod() (string, error) { return getString([]string{"request", "method"}) }

// GetRequestHeaders returns the property request.headers.
func GetRequestHeaders() (map[string]string, error) {
	return getStringMap([]string{"request", "headers"})
}

// GetRequestReferer returns the property request.referer.
func GetRequestReferer() (string, error) { return getString([]string{"request", "referer"}) }

// GetRequestUserAgent returns the property request.useragent.
func GetRequestUserAgent() (string, error) { return getString([]string{"request", "useragent"}) }

// GetRequestTime returns the property request.time.
func GetRequestTime() (time.Time, error) { return getTimestamp([]string{"request", "time"}) }

// GetRequestId returns the property request.id.
func GetRequestId() (string, error) { return getString([]string{"request", "id"}) }

// GetRequestProtocol returns the property request.protocol.
func GetRequestProtocol() (string, error) { return getString([]string{"request", "protocol"}) }

// GetRequestQuery returns the property request.query.
func GetRequestQuery() (string, error) { return getString([]string{"request", "query"}) }

// GetRequestDuration returns the property request.duration.
func GetRequestDuration() (uint64, error) { return getUint64([]string{"request", "duration"}) }

// GetRequestSize returns the property request.size.
func GetRequestSize() (uint64, error) { return getUint64([]string{"request", "size"}) }

// GetRequestTotalSize returns the property request.total_size.
func GetRequestTotalSize() (uint64, error) { return getUint64([]string{"request", "total_size"}) }
