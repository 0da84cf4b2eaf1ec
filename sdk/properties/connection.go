package properties

// GetDownstreamRemoteAddress returns the property source.address.
func GetDownstreamRemoteAddress() (string, error) { return getString([]string{"source", "address"}) }

// GetDownstreamRemotePort returns the property source.port.
func GetDownstreamRemotePort() (uint64, error) { return getUint64([]string{"source", "port"}) }

// GetDownstreamLocalAddress returns the property destination.address.
func GetDownstreamLocalAddress() (string, error) {
	return getString([]string{"destination", "address"})
}

// GetDownstreamLocalPort returns the property destination.port.
func GetDownstreamLocalPort() (uint64, error) { return getUint64([]string{"destination", "port"}) }

// GetDownstreamConnectionID returns the property connection.id.
func GetDownstreamConnectionID() (uint64, error) { return getUint64([]string{"connection", "id"}) }

// IsDownstreamConnectionTls reports whether the property connection.mtls.
func IsDownstreamConnectionTls() (bool, error) { return getBool([]string{"connection", "mtls"}) }

// GetDownstreamRequestedServerName returns the property connection.requested_server_name.
func GetDownstreamRequestedServerName() (string, error) {
	return getString([]string{"connection", "requested_server_name"})
}

// GetDownstreamTlsVersion returns the property connection.tls_version.
func GetDownstreamTlsVersion() (string, error) {
	return getString([]string{"connection", "tls_version"})
}

// GetDownstreamSubjectLocalCertificate returns the property connection.subject_local_certificate.
func GetDownstreamSubjectLocalCertificate() (string, error) {
	return getString([]string{"connection", "subject_local_certificate"})
}

// GetDownstreamSubjectPeerCertificate returns the property connection.subject_peer_certificate.
func GetDownstreamSubjectPeerCertificate() (string, error) {
	return getString([]string{"connection", "subject_peer_certificate"})
}

// GetDownstreamDnsSanLocalCertificate returns the property connection.dns_san_local_certificate.
func GetDownstreamDnsSanLocalCertificate() (string, error) {
	return getString([]string{"connection", "dns_san_local_certificate"})
}

// GetDownstreamDnsSanPeerCertificate returns the property connection.dns_san_peer_certificate.
func GetDownstreamDnsSanPeerCertificate() (string, error) {
	return getString([]string{"connection", "dns_san_peer_certificate"})
}

// GetDownstreamUriSanLocalCertificate returns the property connection.uri_san_local_certificate.
func GetDownstreamUriSanLocalCertificate() (string, error) {
	return getString([]string{"connection", "uri_san_local_certificate"})
}

// GetDownstreamUriSanPeerCertificate returns the property connection.uri_san_peer_certificate.
func GetDownstreamUriSanPeerCertificate() (string, error) {
	return getString([]string{"connection", "uri_san_peer_certificate"})
}

// GetDownstreamSha256PeerCertificateDigest returns the property connection.sha256_peer_certificate_digest.
func GetDownstreamSha256PeerCertificateDigest() (string, error) {
	return getString([]string{"connection", "sha256_peer_certificate_digest"})
}

// GetDownstreamTerminationDetails returns the property connection.termination_details.
func GetDownstreamTerminationDetails() (string, error) {
	return getString([]string{"connection", "termination_details"})
}
