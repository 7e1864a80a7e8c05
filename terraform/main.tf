/**
 * # Terraform module for the Kratos charm
 *
 * Deploys the Kratos charm with the Juju Terraform provider. Integrations are made by the
 * caller, with the endpoint names of the `requires` and `provides` outputs.
 */

locals {
  # The default workload image is the one metadata.yaml names, as `juju deploy` uses it.
  metadata = yamldecode(file("${path.module}/../metadata.yaml"))
  oci_image = {
    "oci-image" : local.metadata.resources["oci-image"]["upstream-source"]
  }
  resources = merge(local.oci_image, var.resources)
}

resource "juju_application" "application" {
  name        = var.app_name
  model_uuid  = var.model
  trust       = true
  config      = var.config
  constraints = var.constraints
  resources   = local.resources
  units       = var.units

  charm {
    name     = "kratos"
    base     = var.base
    channel  = var.channel
    revision = var.revision
  }
}
