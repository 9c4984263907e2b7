@toy
Feature: A drill parameter's earlier versions
  A check that does not apply to a target is skipped, with its reason.

  Scenario: Check the earlier versions of a drill parameter
    Given each ssm-parameter target of the drill
    When a drill parameter is written in the DR region
    Then the drill parameter's earlier versions are checked
