@toy
Feature: A drill parameter is tagged for its run
  Uses a step from the drill file's own step module (tests.families.custom_steps.steps).

  Scenario: Write a drill parameter and check its tags
    Given each ssm-parameter target of the drill
    When a drill parameter is written in the DR region
    Then the drill parameter carries this run's tags
