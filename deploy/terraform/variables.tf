variable "region" {
  description = "Where the schedule, the cluster and the task run (any region: the drill reaches both of its own)."
  type        = string
  default     = "us-east-1"
}

variable "cluster_arn" {
  description = "The ECS cluster the drill's task runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the task; it needs a route to the AWS APIs (a NAT gateway or VPC endpoints)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups for the task: outbound HTTPS only."
  type        = list(string)
}

variable "image" {
  description = "The drtool image, built from deploy/docker/Dockerfile."
  type        = string
}

variable "drill_file" {
  description = "The drill file inside the image."
  type        = string
  default     = "drills/monthly.yaml"
}

variable "schedule" {
  description = "EventBridge Scheduler cron: minutes hours day-of-month month day-of-week year, with ? in one day field."
  type        = string
  default     = "cron(17 6 3 * ? *)"
}

variable "timezone" {
  description = "The schedule's timezone (IANA name)."
  type        = string
  default     = "Etc/UTC"
}

variable "drill_policy_file" {
  description = "The task role's policy: the output of `drtool permissions drills/monthly.yaml --account-id ...`."
  type        = string
  default     = "drill-policy.json"
}

variable "drill_role_name" {
  description = "The drill's role: the name in aws.role_arn of drills/monthly.yaml."
  type        = string
  default     = "drtool-drill"
}

variable "drill_role_trusted" {
  description = "Other schedulers' role ARNs that may assume the drill role (the EKS pod's, GitHub's or GitLab's OIDC role)."
  type        = list(string)
  default     = []
}

variable "state_bucket" {
  description = "The bucket for the run history, the run lock and the evidence: history.s3 and evidence.bucket in the drill file."
  type        = string
}

variable "state_kms_alias" {
  description = "The alias (without alias/) of the key that encrypts the state bucket: evidence.kms_key in the drill file."
  type        = string
  default     = "drtool-state"
}
