variable "model" {
  description = "The UUID of the Juju model to deploy into"
  type        = string
}

variable "app_name" {
  description = "The Juju application name"
  type        = string
}

variable "config" {
  description = "The charm config: any option of config.yaml, values as strings"
  type        = map(string)
  default = {
    enable_local_idp : "false",
    enable_oidc_webauthn_sequencing : "false",
  }
}

variable "constraints" {
  description = "The Juju constraints of the application"
  type        = string
  default     = ""
}

variable "units" {
  description = "The number of units"
  type        = number
  default     = 1
}

variable "base" {
  description = "The charm base"
  type        = string
  default     = "ubuntu@24.04"
}

variable "channel" {
  description = "The Charmhub channel to deploy from"
  type        = string
  default     = "latest/stable"
}

variable "revision" {
  description = "The charm revision (null: the channel's latest)"
  type        = number
  nullable    = true
  default     = null
}

variable "resources" {
  description = "The charm resources by name, overriding the default oci-image (e.g. an image in a local registry)"
  type        = map(string)
  default     = {}
}
