@toy
Feature: A drill parameter written in the DR region reads back in time
  The toy family of drtool's tests: it creates one resource, so every seam of a family is exercised.

  Scenario: Write a drill parameter and read it back
    Given each ssm-parameter target of the drill
    When a drill parameter is written in the DR region
    Then it reads back in the DR region within the maximum lag
