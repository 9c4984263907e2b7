@toy
Feature: A team's step cannot change production through any client it builds
  Steps from tests.families.custom_steps.reach.

  Scenario: Every way a step could build a client is guarded
    Given each ssm-parameter target of the drill
    Then every way a step could change production is tried

  Scenario: A refusal a step does not catch stops the drill
    Given each ssm-parameter target of the drill
    Then a plain boto3 client writes to a production bucket
