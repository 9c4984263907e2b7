@kms @dr-access
Feature: The DR-region key of each data class works for those who need it in a disaster, and for no one else
  A perfect copy of the data is useless if the key that decrypts it is
  disabled, out of reach of the people who must recover, or open to people
  who must never read it. Each key is checked in the DR region the way an
  outage would test it: its state and rotation, a real data-key round trip as
  every principal that needs it, a refusal for every principal that must not
  have it, its policy against its primary's and the drill file's, and its
  data-class tags. The drill only reads the key and uses it; it changes nothing.

  @key-state
  Scenario: The DR key is enabled, rotating and a replica of its primary
    Given each kms-key target of the drill
    When the DR key and its primary are described
    Then the key is enabled, rotates within the maximum period and replicates its primary

  @key-access
  Scenario: Every allowed principal round-trips a data key in the DR region
    Given each kms-key target of the drill
    When each allowed principal generates a data key and decrypts it in the DR region
    Then every round trip returns the data key within the objective

  @key-denial
  Scenario: Every denied principal is refused the DR key
    Given each kms-key target of the drill
    When each denied principal tries to encrypt and to decrypt with the DR key
    Then each attempt is refused with AccessDenied

  @key-policy
  Scenario: The DR key's policy grants what its primary's and the drill file's say
    Given each kms-key target of the drill
    When the key policies of the DR key and its primary are read
    Then who may use and who may administer the key is as expected

  @key-tags
  Scenario: The DR key carries its data-class tags
    Given each kms-key target of the drill
    When the DR key's tags are read
    Then it carries every tag the drill file expects
