@rds @restore
Feature: Restore an RDS database in the DR region
  Each database is recovered in the DR region from its newest recoverable
  point, the way it would be in a real regional outage. The drill measures
  the recovery time (RTO) and the age of the recovered data (RPO) against
  the objectives in the drill file, checks that the copy is encrypted with
  the DR-region key, and deletes everything it created.

  Scenario: Restore the newest recoverable point of a database in the DR region
    Given each rds-instance target of the drill
    When the newest recoverable point of the database is found in the DR region
    And it is restored as a new, private instance in the DR region
    And the restored instance becomes available
    Then the restored instance is encrypted with the target's DR-region key
    And the recovery meets the RTO and the RPO
