# The monthly DR drill on AWS itself: EventBridge Scheduler starts an ECS (Fargate) task that runs drtool.
# Change: the variables (terraform.tfvars), and write drill-policy.json beside this file with
#   drtool permissions drills/monthly.yaml --account-id 123456789012 > deploy/terraform/drill-policy.json
# Then: terraform init && terraform apply

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

# --- the task: drtool run, as the drill's own identity ------------------------------------------

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

# The drill's identity: exactly what `drtool permissions` derives from the drill file, and nothing else.
resource "aws_iam_role" "drill" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "drill" {
  name   = "drtool-drill"
  role   = aws_iam_role.drill.id
  policy = file("${path.module}/${var.drill_policy_file}")
}

resource "aws_ecs_task_definition" "drill" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.drill.arn

  container_definitions = jsonencode([{
    name      = "drtool"
    image     = var.image
    essential = true
    command   = ["run", var.drill_file, "--junit-xml", "/reports/junit.xml", "--report-dir", "/reports"]
    user      = "10001:10001"
    # SIGTERM starts drtool's teardown; Fargate allows at most 120 seconds before SIGKILL.
    stopTimeout = 120
    environment = [{ name = "AWS_REGION", value = var.region }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.drill.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "drill"
      }
    }
  }])
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
    resources = [aws_iam_role.execution.arn, aws_iam_role.drill.arn]
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

output "log_group" {
  description = "Where each run's summary is: the task's output."
  value       = aws_cloudwatch_log_group.drill.name
}
