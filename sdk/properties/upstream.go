package properties

// GetUpstreamAddress returns the property upstream.address.
func GetUpstreamAddress() (string, error) { return getString([]string{"upstream", "address"}) }

// GetUpstreamPort returns the property upstream.port.
func GetUpstreamPort() (uint64, error) { return getUint64([]string{"upstream", "port"}) }

// GetUpstreamTlsVersion returns the property upstream.tls_version.
func GetUpstreamTlsVersion() (string, error) { return getString([]string{"upstream", "tls_version"}) }

// GetUpstreamSubjectLocalCertificate returns the property upstream.subject_local_certificate.
func GetUpstreamSubjectLocalCertificate() (string, error) {
	return getString([]string{"upstream", "subject_local_certificate"})
}

// GetUpstreamSubjectPeerCertificate returns the property upstream.subject_peer_certificate.
func GetUpstreamSubjectPeerCertificate() (string, error) {
	return getString([]string{"upstream", "subject_peer_certificate"})
}

// GetUpstreamDnsSanLocalCertificate returns the property upstream.dns_san_local_certificate.
func GetUpstreamDnsSanLocalCertificate() (string, error) {
	return getString([]string{"upstream", "dns_san_local_certificate"})
}

// GetUpstreamDnsSanPeerCertificate returns the property upstream.dns_san_peer_certificate.
func GetUpstreamDnsSanPeerCertificate() (string, error) {
	return getString([]string{"upstream", "dns_san_peer_certificate"})
}

// GetUpstreamUriSanLocalCertificate returns the property upstream.uri_san_local_certificate.
func GetUpstreamUriSanLocalCertificate() (string, error) {
	return getString([]string{"upstream", "uri_san_local_certificate"})
}

// GetUpstreamUriSanPeerCertificate returns the property upstream.uri_san_peer_certificate.
func GetUpstreamUriSanPeerCertificate() (string, error) {
	return getString([]string{"upstream", "uri_san_peer_certificate"})
}

// GetUpstreamSha256PeerCertificateDigest returns the property upstream.sha256_peer_certificate_digest.
func GetUpstreamSha256PeerCertificateDigest() (string, error) {
	return getString([]string{"upstream", "sha256_peer_certificate_digest"})
}

// GetUpstreamLocalAddress returns the property upstream.local_address.
func GetUpstreamLocalAddress() (string, error) {
	return getString([]string{"upstream", "local_address"})
}

// GetUpstreamTransportFailureReason returns the property upstream.transport_failure_reason.
func GetUpstreamTransportFailureReason() (string, error) {
	return getString([]string{"upstream", "transport_failure_reason"})
}
