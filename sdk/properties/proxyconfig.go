package properties

// GetNodeMetaProxyConfigBinaryPath returns the property node.metadata.PROXY_CONFIG.binaryPath.
func GetNodeMetaProxyConfigBinaryPath() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "binaryPath"})
}

// GetNodeMetaProxyConfigConcurrency returns the property node.metadata.PROXY_CONFIG.concurrency.
func GetNodeMetaProxyConfigConcurrency() (float64, error) {
	return getFloat64([]string{"node", "metadata", "PROXY_CONFIG", "concurrency"})
}

// GetNodeMetaProxyConfigConfigPath returns the property node.metadata.PROXY_CONFIG.configPath.
func GetNodeMetaProxyConfigConfigPath() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "configPath"})
}

// GetNodeProxyConfigControlPlaneAuthPolicy returns the property node.metadata.PROXY_CONFIG.controlPlaneAuthPolicy.
func GetNodeProxyConfigControlPlaneAuthPolicy() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "controlPlaneAuthPolicy"})
}

// GetNodeProxyConfigDiscoveryAddress returns the property node.metadata.PROXY_CONFIG.discoveryAddress.
func GetNodeProxyConfigDiscoveryAddress() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "discoveryAddress"})
}

// GetNodeProxyConfigDrainDuration returns the property node.metadata.PROXY_CONFIG.drainDuration.
func GetNodeProxyConfigDrainDuration() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "drainDuration"})
}

// GetNodeProxyConfigExtraStatTags returns the property node.metadata.PROXY_CONFIG.extraStatTags.
func GetNodeProxyConfigExtraStatTags() ([]string, error) {
	return getStringSlice([]string{"node", "metadata", "PROXY_CONFIG", "extraStatTags"})
}

// GetNodeProxyConfigHoldApplicationUntilProxyStarts returns the property node.metadata.PROXY_CONFIG.holdApplicationUntilProxyStarts.
func GetNodeProxyConfigHoldApplicationUntilProxyStarts() (bool, error) {
	return getBool([]string{"node", "metadata", "PROXY_CONFIG", "holdApplicationUntilProxyStarts"})
}

// GetNodeProxyConfigProxyAdminPort returns the property node.metadata.PROXY_CONFIG.proxyAdminPort.
func GetNodeProxyConfigProxyAdminPort() (float64, error) {
	return getFloat64([]string{"node", "metadata", "PROXY_CONFIG", "proxyAdminPort"})
}

// GetNodeProxyConfigServiceCluster returns the property node.metadata.PROXY_CONFIG.serviceCluster.
func GetNodeProxyConfigServiceCluster() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "serviceCluster"})
}

// GetNodeProxyConfigStatNameLength returns the property node.metadata.PROXY_CONFIG.statNameLength.
func GetNodeProxyConfigStatNameLength() (float64, error) {
	return getFloat64([]string{"node", "metadata", "PROXY_CONFIG", "statNameLength"})
}

// GetNodeProxyConfigStatusPort returns the property node.metadata.PROXY_CONFIG.statusPort.
func GetNodeProxyConfigStatusPort() (float64, error) {
	return getFloat64([]string{"node", "metadata", "PROXY_CONFIG", "statusPort"})
}

// GetNodeProxyConfigTerminationDrainDuration returns the property node.metadata.PROXY_CONFIG.terminationDrainDuration.
func GetNodeProxyConfigTerminationDrainDuration() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "terminationDrainDuration"})
}

// GetNodeProxyConfigTracingDatadogAddress returns the property node.metadata.PROXY_CONFIG.tracing.datadog.address.
func GetNodeProxyConfigTracingDatadogAddress() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "tracing", "datadog", "address"})
}

// GetNodeProxyConfigTracingOpenCensusAgentAddress returns the property node.metadata.PROXY_CONFIG.tracing.opencensusagent.address.
func GetNodeProxyConfigTracingOpenCensusAgentAddress() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "tracing", "opencensusagent", "address"})
}

// GetNodeProxyConfigTracingZipkinAddress returns the property node.metadata.PROXY_CONFIG.tracing.zipkin.address.
func GetNodeProxyConfigTracingZipkinAddress() (string, error) {
	return getString([]string{"node", "metadata", "PROXY_CONFIG", "tracing", "zipkin", "address"})
}
