@secrets
Feature: Secrets are replicated to the DR region, readable there only by whom they must be, and rotated
  Each secret is checked the way an outage would test it: its replica in the
  DR region is in sync and encrypted with the DR-region key, the principals
  that need it in a disaster can read it there and read the value the primary
  holds now, the principals that must never have it are refused, and the
  secret rotates as often as required. The drill changes nothing, and never
  prints, stores or journals a secret's value: it compares SHA-256 digests.

  @secrets @replica
  Scenario: The DR replica is in sync, under the DR key, and readable only by the allowed principals
    Given each secret target of the drill
    When the secret is described in the primary region and its replica key in the DR region
    Then the replica in the DR region is in sync and encrypted with the target's DR-region key
    And each allowed principal reads from the replica the value the primary holds now
    And each denied principal is refused the replica

  @secrets @rotation
  Scenario: The secret rotates automatically, at least as often as the maximum interval
    Given each secret target of the drill
    When the secret's rotation settings are read
    Then rotation is enabled, scheduled within the maximum interval, and last happened within it
