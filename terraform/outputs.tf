output "app_name" {
  description = "The Juju application name"
  value       = juju_application.application.name
}

output "requires" {
  description = "The endpoints the charm requires, by name"
  value = {
    pg-database                 = "pg-database"
    kratos-external-idp         = "kratos-external-idp"
    hydra-endpoint-info         = "hydra-endpoint-info"
    ui-endpoint-info            = "ui-endpoint-info"
    kratos-registration-webhook = "kratos-registration-webhook"
    kratos-login-webhook        = "kratos-login-webhook"
    logging                     = "logging"
    tracing                     = "tracing"
    smtp                        = "smtp"
    internal-route              = "internal-route"
    public-route                = "public-route"
    receive-ca-cert             = "receive-ca-cert"
  }
}

output "provides" {
  description = "The endpoints the charm provides, by name"
  value = {
    kratos-info       = "kratos-info"
    metrics-endpoint  = "metrics-endpoint"
    grafana-dashboard = "grafana-dashboard"
  }
}
