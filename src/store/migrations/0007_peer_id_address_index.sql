DROP INDEX `peers_torrent_peer_id`;--> statement-breakpoint
CREATE INDEX `peers_torrent_peer_id_address` ON `peers` (`torrent_id`,`peer_id`,`address_key`,`port`);