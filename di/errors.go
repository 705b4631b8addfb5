package di

import "errors"

// ErrConfig reports an invalid configuration given to a constructor of
// this package; it wraps the config package's *SettingError values.
var ErrConfig = errors.New("di: invalid configuration")
