# The monthly DR drill on AWS itself: EventBridge Scheduler starts an ECS (Fargate) task that runs drtool.
# Change: the variables (terraform.tfvars; README lists them), and write drill-policy.json beside this file with
#   drtool permissions drills/monthly.yaml --account-id 123456789012 > deploy/terraform/drill-policy.json
# Then: terraform init && terraform apply
#
# It creates what drills/monthly.yaml names: the drill role (aws.role_arn), which the task assumes, and the bucket
# and key that keep every scheduler's history, run lock and evidence (history:, evidence:). The task's reports
# reach S3 in the evidence bundle of each run.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

locals {
  name = "drtool-monthly"
}

resource "aws_cloudwatch_log_group" "drill" {
  name              = "/ecs/${local.name}"
  retention_in_days = 400 # a year of monthly drills, and then some, for the auditor
}

# --- the task and the drill's identity -----------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The task's own identity: only the right to become the drill's role, as drtool does from aws.role_arn.
resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "AssumeTheDrillRole"
    actions   = ["sts:AssumeRole"]
    resources = [aws_iam_role.drill.arn]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "assume-drill-role"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# The drill's identity, the role drills/monthly.yaml names: exactly what `drtool permissions` derives from the
# drill file, and nothing else. The ECS task assumes it, and so may the other schedulers' roles (EKS, GitHub or
# GitLab OIDC) named in var.drill_role_trusted, so every scheduler drills as the same identity.
data "aws_iam_policy_document" "drill_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = concat([aws_iam_role.task.arn], var.drill_role_trusted)
    }
  }
}

resource "aws_iam_role" "drill" {
  name                 = var.drill_role_name
  assume_role_policy   = data.aws_iam_policy_document.drill_assume.json
  max_session_duration = 14400 # the drill file's budget and its teardown; drtool refreshes the session as it goes
}

resource "aws_iam_role_policy" "drill" {
  name   = "drtool-drill"
  role   = aws_iam_role.drill.id
  policy = file("${path.module}/${var.drill_policy_file}")
}

# --- the drill's records: one history, one run lock, one evidence trail for every scheduler ---------

resource "aws_kms_key" "state" {
  description         = "drtool: run history, run lock and evidence bundles"
  enable_key_rotation = true
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.state_kms_alias}"
  target_key_id = aws_kms_key.state.key_id
}

resource "aws_s3_bucket" "state" {
  bucket = var.state_bucket
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled" # an auditor's evidence is never overwritten in place
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_ecs_task_definition" "drill" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  # Task storage, the only writable paths: the root file system is read-only (drill-container.json).
  volume {
    name = "reports"
  }
  volume {
    name = "tmp"
  }

  # The command, its user (the image's), a read-only root, and stopTimeout: SIGTERM starts drtool's teardown, and
  # Fargate allows at most 120 seconds before SIGKILL.
  container_definitions = templatefile("${path.module}/drill-container.json.tftpl", {
    image      = var.image
    drill_file = var.drill_file
    region     = var.region
    log_group  = aws_cloudwatch_log_group.drill.name
  })
}

# --- the schedule ---------------------------------------------------------------------------------

# A start the scheduler could not make (no capacity, a throttled RunTask) lands here instead of vanishing.
resource "aws_sqs_queue" "missed_starts" {
  name                      = "${local.name}-missed-starts"
  message_retention_seconds = 1209600 # 14 days: longer than the gap anyone notices a missed drill in
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "RunTheDrillTask"
    actions   = ["ecs:RunTask"]
    resources = ["${aws_ecs_task_definition.drill.arn_without_revision}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }
  statement {
    sid       = "PassTheTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
  }
  statement {
    sid       = "ReportMissedStarts"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.missed_starts.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-drill-task"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "monthly_drill" {
  name        = local.name
  description = "Monthly DR drill: drtool run ${var.drill_file}"
  # EventBridge Scheduler's cron has six fields (minutes hours day-of-month month day-of-week year) and needs ? in
  # one of the day fields: 06:17 on the 3rd of every month.
  schedule_expression          = var.schedule
  schedule_expression_timezone = var.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.cluster_arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.drill.arn
      launch_type         = "FARGATE"
      task_count          = 1

      network_configuration {
        subnets          = var.subnet_ids
        security_groups  = var.security_group_ids
        assign_public_ip = false
      }
    }

    # Retries cover a start that failed (RunTask refused), never a drill that ran and failed.
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 3
    }

    dead_letter_config {
      arn = aws_sqs_queue.missed_starts.arn
    }
  }
}

output "schedule_arn" {
  value = aws_scheduler_schedule.monthly_drill.arn
}

output "drill_role_arn" {
  description = "aws.role_arn in drills/monthly.yaml."
  value       = aws_iam_role.drill.arn
}

output "state_bucket" {
  description = "history.s3 and evidence.bucket in drills/monthly.yaml."
  value       = aws_s3_bucket.state.bucket
}

output "log_group" {
  description = "Where each run's summary is: the task's output."
  value       = aws_cloudwatch_log_group.drill.name
}
