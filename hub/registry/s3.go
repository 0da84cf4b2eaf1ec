package registry

// The hub links distribution's S3 storage driver, so that several hub
// replicas can share one bucket: set storage.driver to "s3" in the hub's
// configuration, with the driver's parameters (region, bucket, and
// optionally regionendpoint for S3-compatible stores such as MinIO).
import _ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws" // "s3" driver
