package properties

// GetResponseCode returns the property response.code.
func GetResponseCode() (uint64, error) { return getUint64([]string{"response", "code"}) }

// GetResponseCodeDetails returns the property response.code_details.
func GetResponseCodeDetails() (string, error) { return getString([]string{"response", "code_details"}) }

// GetResponseFlags returns the property response.flags.
func GetResponseFlags() (uint64, error) { return getUint64([]string{"response", "flags"}) }

// GetResponseGrpcStatusCode returns the property response.grpc_status.
func GetResponseGrpcStatusCode() (uint64, error) {
	return getUint64([]string{"response", "grpc_status"})
}

// GetResponseHeaders returns the property response.headers.
func GetResponseHeaders() (map[string]string, error) {
	return getStringMap([]string{"response", "headers"})
}

// GetResponseTrailers returns the property response.trailers.
func GetResponseTrailers() (map[string]string, error) {
	return getStringMap([]string{"response", "trailers"})
}

// GetResponseSize returns the property response.size.
func GetResponseSize() (uint64, error) { return getUint64([]string{"response", "size"}) }

// GetResponseTotalSize returns the property response.total_size.
func GetResponseTotalSize() (uint64, error) { return getUint64([]string{"response", "total_size"}) }
