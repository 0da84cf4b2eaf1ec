package properties

// GetPluginName returns the property plugin_name.
func GetPluginName() (string, error) { return getString([]string{"plugin_name"}) }

// GetPluginRootId returns the property plugin_root_id.
func GetPluginRootId() (string, error) { return getString([]string{"plugin_root_id"}) }

// GetPluginVmId returns the property plugin_vm_id.
func GetPluginVmId() (string, error) { return getString([]string{"plugin_vm_id"}) }

// GetClusterName returns the property cluster_name.
func GetClusterName() (string, error) { return getString([]string{"cluster_name"}) }

// GetRouteName returns the property route_name.
func GetRouteName() (string, error) { return getString([]string{"route_name"}) }

// GetListenerDirection returns the property listener_direction.
func GetListenerDirection() (EnvoyTrafficDirection, error) {
	return getTrafficDirection([]string{"listener_direction"})
}

// GetNodeId returns the property node.id.
func GetNodeId() (string, error) { return getString([]string{"node", "id"}) }

// GetNodeCluster returns the property node.cluster.
func GetNodeCluster() (string, error) { return getString([]string{"node", "cluster"}) }

// GetNodeDynamicParams returns the property node.dynamic_parameters.params.
func GetNodeDynamicParams() (string, error) {
	return getString([]string{"node", "dynamic_parameters", "params"})
}

// GetNodeUserAgentName returns the property node.user_agent_name.
func GetNodeUserAgentName() (string, error) { return getString([]string{"node", "user_agent_name"}) }

// GetNodeUserAgentVersion returns the property node.user_agent_version.
func GetNodeUserAgentVersion() (string, error) {
	return getString([]string{"node", "user_agent_version"})
}

// GetNodeUserAgentBuildVersion returns the property node.user_agent_build_version.metadata.
func GetNodeUserAgentBuildVersion() (string, error) {
	return getString([]string{"node", "user_agent_build_version", "metadata"})
}

// GetNodeClientFeatures returns the property node.client_features.
func GetNodeClientFeatures() ([]string, error) {
	return getProtoStringSlice([]string{"node", "client_features"})
}

// GetNodeListeningAddresses returns the property node.listening_addresses.
func GetNodeListeningAddresses() ([]string, error) {
	return getStringSlice([]string{"node", "listening_addresses"})
}

// GetClusterMetadata returns the property node.cluster_metadata.filter_metadata.istio.
func GetClusterMetadata() (IstioFilterMetadata, error) {
	return getIstioFilterMetadata([]string{"node", "cluster_metadata", "filter_metadata", "istio"})
}

// GetListenerMetadata returns the property node.listener_metadata.filter_metadata.istio.
func GetListenerMetadata() (IstioFilterMetadata, error) {
	return getIstioFilterMetadata([]string{"node", "listener_metadata", "filter_metadata", "istio"})
}

// GetRouteMetadata returns the property node.route_metadata.filter_metadata.istio.
func GetRouteMetadata() (IstioFilterMetadata, error) {
	return getIstioFilterMetadata([]string{"node", "route_metadata", "filter_metadata", "istio"})
}

// GetUpstreamHostMetadata returns the property node.upstream_host_metadata.filter_metadata.istio.
func GetUpstreamHostMetadata() (IstioFilterMetadata, error) {
	return getIstioFilterMetadata([]string{"node", "upstream_host_metadata", "filter_metadata", "istio"})
}
