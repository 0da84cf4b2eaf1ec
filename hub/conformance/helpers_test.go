package conformance

import "time"

var timeZero time.Time
